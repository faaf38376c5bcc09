"""A fresh PostgreSQL schema per test on the server at 127.0.0.1:5432 (skips if none answers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from bot.store.postgres import reachable

SERVER = os.environ.get("UNAVOZ_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """The URL of an empty database of its own, dropped afterwards."""
    why = await reachable(SERVER)
    if why is not None:
        pytest.skip(why)
    name = f"unavoz_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(SERVER)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = SERVER.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(SERVER)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
