"""SQLite store (the embedded default): one file, shared safely by the CLI and `unavoz run`.

SQLite serializes writers itself: every transaction here is `BEGIN IMMEDIATE`,
so two processes never both read-then-write, and `busy_timeout` makes the
second one wait instead of failing. One `unavoz run` per SQLite file: several
instances need PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.base import StoreError
from bot.store.sql import SqlStore, Tx

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1.0  # seconds between copies of the write-ahead log into the database


def migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL) in order, from the numbered files of `bot/store/migrations/<dialect>`."""
    found = []
    for entry in files(f"bot.store.migrations.{dialect}").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(sql: str) -> list[str]:
    """A migration script split into statements (no `;` inside our literals)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


class _SqliteTx:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, *args: Any) -> None:
        await self.db.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.db.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        cursor = await self.db.execute(sql, args)
        return list(await cursor.fetchall())


class SqliteStore(SqlStore):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        # One connection, so one transaction at a time: coroutines of this process queue here,
        # other processes wait on SQLite's own lock (busy_timeout).
        self._lock = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN ourselves (IMMEDIATE, see above).
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
        except Exception as exc:
            raise StoreError(f"cannot open the SQLite store {self.path!r}: {exc}") from exc
        await self.db.execute("PRAGMA busy_timeout = 10000")
        await self.db.execute("PRAGMA journal_mode = WAL")
        await self.db.execute("PRAGMA synchronous = NORMAL")  # WAL keeps it crash-safe
        await self.db.execute("PRAGMA foreign_keys = ON")
        await self._migrate()
        if self.path != ":memory:":
            await self._start_checkpoints()

    async def _start_checkpoints(self) -> None:
        """Copy the write-ahead log back into the database from a connection of its own.

        Left to SQLite, the commit that fills the log copies it back, syncing the file,
        while every transaction of this process waits behind it: replaying the fan-out
        bench's statements, that was nearly half the database time (97 µs a delivery with
        it, 52 without). Here the copy runs beside the writers instead.
        """
        try:
            self._checkpointer = await aiosqlite.connect(self.path, isolation_level=None)
        except Exception as exc:
            await self.close()
            raise StoreError(f"cannot open the SQLite store {self.path!r}: {exc}") from exc
        # A copy made beside a busy writer may never catch up with it: past ~40 MB of log
        # the writer copies it back itself, as SQLite would, and the file is cut back.
        await self.db.execute("PRAGMA wal_autocheckpoint = 10000")
        await self.db.execute("PRAGMA journal_size_limit = 67108864")
        self._checkpoint_task = asyncio.create_task(self._checkpoints(), name="sqlite-checkpoint")

    async def _checkpoints(self) -> None:
        assert self._checkpointer is not None
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY)
            try:
                await self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # the next one catches up; the log only grows meanwhile
                log.warning("checkpointing %s failed", self.path, exc_info=True)

    async def close(self) -> None:
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoint_task
            self._checkpoint_task = None
        if self._checkpointer is not None:
            await self._checkpointer.close()
            self._checkpointer = None
        if self._db is not None:
            await self._db.close()  # the last connection to close checkpoints what is left
            self._db = None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self.db)
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def _migrate(self) -> None:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for version, sql in migrations("sqlite"):
            async with self._transaction() as tx:
                # Checked inside the write lock: another process may have just applied it.
                done = await tx.fetch("SELECT 1 FROM schema_migrations WHERE version = ?", version)
                if done:
                    continue
                for statement in statements(sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    version,
                    dt.datetime.now(dt.UTC).isoformat(),
                )
