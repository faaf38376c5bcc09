"""What only the SQLite store does: where its transactions run, and waiting out other writers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable
from pathlib import Path

import pytest

from bot.store import StoreError
from bot.store import sqlite as sqlite_store
from bot.store.sqlite import SqliteStore


async def test_brief_transactions_stay_on_the_loop_and_the_others_leave_it(
    tmp_path: Path,
) -> None:
    async with SqliteStore(str(tmp_path / "unavoz.db")) as store:
        loop_thread = threading.get_ident()
        where: list[bool] = []  # per statement: run on the loop's thread?
        store.connection.set_trace_callback(
            lambda sql: where.append(threading.get_ident() == loop_thread)
        )

        async def places(operation: Awaitable[object]) -> set[bool]:
            where.clear()
            await operation
            return set(where)

        # A revision (and its fan-out) is written from the store's thread, but for BEGIN
        # (which must not wait on the loop: see below); reading the latest revision and
        # claiming run right where they are awaited.
        record = store.record_revision("a: 1\n", author="ana", source="cli")
        assert await places(record) == {True, False}
        assert await places(store.latest_revision()) == {True}
        claim = store.claim_deliveries("webhook", instance="i", limit=10, lease=30.0)
        assert await places(claim) == {True}
        store.connection.set_trace_callback(None)


async def test_another_process_writing_is_waited_for_without_stopping_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "unavoz.db"
    async with SqliteStore(str(path)) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process, in the middle of a write
        recording = asyncio.create_task(store.record_revision("a: 1\n", author="ana", source="cli"))
        started = time.monotonic()
        for _ in range(20):  # the loop keeps turning while the store waits
            await asyncio.sleep(0.01)
        # (Blocked in BEGIN, the loop would have stood still until SQLite gave up.)
        assert time.monotonic() - started < 1.0 and not recording.done()
        other.execute("COMMIT")
        other.close()
        record, created = await asyncio.wait_for(recording, 5)
        assert created and record.number == 1


async def test_a_store_locked_for_too_long_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_WAIT", 0.2)
    path = tmp_path / "unavoz.db"
    async with SqliteStore(str(path)) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="locked by another process"):
                await store.record_revision("a: 1\n", author="ana", source="cli")
        finally:
            other.execute("ROLLBACK")
            other.close()
        # Nothing was half done: the store works once the other writer is gone.
        record, created = await store.record_revision("a: 1\n", author="ana", source="cli")
        assert created and record.number == 1


async def test_the_ledger_rekeyed_by_incident_keeps_what_it_held(tmp_path: Path) -> None:
    """Migration 5 rebuilds the ledger keyed (channel, incident, target): a store made
    before it opens with every row it had, and upserts still find them."""
    path = tmp_path / "unavoz.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for version, sql in sqlite_store.migrations("sqlite"):
        if version >= 5:
            break
        for statement in sqlite_store.statements(sql):
            old.execute(statement)
        old.execute("INSERT INTO schema_migrations VALUES (?, 'then')", (version,))
    old.execute("INSERT INTO payloads VALUES ('h1', 'told: 1'), ('h2', 'told: 2')")
    old.executemany(
        "INSERT INTO ledger VALUES ('webhook', ?, ?, ?, 'f', 'investigating', ?, ?)",
        [("https://a", "i1", 3, "h1", 10.0), ("https://b", "i1", 4, "h2", 11.0)],
    )
    old.close()
    async with SqliteStore(str(path)) as store:
        entries = await store.ledger("webhook")
        assert [(e.target, e.incident_id, e.revision, e.payload) for e in entries] == [
            ("https://a", "i1", 3, "told: 1"),
            ("https://b", "i1", 4, "told: 2"),
        ]
        key = store.connection.execute(
            "SELECT name FROM pragma_index_info("
            " (SELECT name FROM pragma_index_list('ledger') WHERE origin = 'pk'))"
            " ORDER BY seqno"
        ).fetchall()
        assert [name for (name,) in key] == ["channel", "incident_id", "target"]
        # The upsert finds a row by the new key: a newer revision replaces it.
        async with store._transaction() as tx:
            await store._write_ledger(
                tx, [("webhook", "https://a", "i1", 5, "g", "resolved", "h2", 12.0)]
            )
        entries = await store.ledger("webhook")
        assert [(e.target, e.revision, e.status) for e in entries] == [
            ("https://a", 5, "resolved"),
            ("https://b", 4, "investigating"),
        ]
