"""Many subscribers in one place: queued a chunk to a transaction, the engine woken after each,
so the first notifications can leave while the rest are still being queued."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.feed.loader import parse_feed
from bot.state import FeedState
from bot.store import Place, Store, open_store
from channels.telegram.customer_notify import queue_changes
from tests.conftest import NOON, SMALL_FEED


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as opened:
        yield opened


async def state(store: Store, text: str) -> FeedState:
    loaded = parse_feed(text)
    record, _ = await store.record_revision(text, author="test", source="cli")
    return FeedState.build(loaded, record)


async def test_the_engine_is_woken_as_each_chunk_is_committed(store: Store, tmp_path: Path) -> None:
    text = SMALL_FEED.read_text(encoding="utf-8")
    before = await state(store, text)
    later = "eta: 2026-11-24T20:00:00+01:00"
    after = await state(store, text.replace("eta: 2026-11-24T18:00:00+01:00", later))
    for n in range(10):
        await store.subscribe(
            "customer", str(500 + n), places=[Place.postcode("28012")], locale="es"
        )
    # What the engine would find when woken, read by a connection of its own.
    reader = sqlite3.connect(tmp_path / "unavoz.db")
    waiting: list[int] = []

    def wake() -> None:
        [(count,)] = reader.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'")
        waiting.append(count)

    try:
        assert await queue_changes(store, before, after, NOON, wake=wake, chunk=2) == 10
        assert waiting == [2, 6, 10]  # chunks of 2, 4, then the last 4
        # Adopted again (a restart, another instance): nothing more, nobody woken.
        assert await queue_changes(store, before, after, NOON, wake=wake, chunk=2) == 0
        assert waiting == [2, 6, 10]
    finally:
        reader.close()
