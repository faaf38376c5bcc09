"""Ending background tasks: give them a moment to finish their work, then cancel the rest."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence


async def settle(tasks: Sequence[asyncio.Task[None]], grace: float = 0.0) -> None:
    """Wait up to `grace` seconds for `tasks` to end by themselves, then cancel what remains."""
    if grace > 0 and tasks:
        await asyncio.wait(tasks, timeout=grace)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def first_of(*events: asyncio.Event) -> None:
    """Return as soon as any of `events` is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
