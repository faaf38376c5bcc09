"""SQLite store (the embedded default): one file, shared safely by the CLI and `unavoz run`.

SQLite serializes writers itself: every transaction here is `BEGIN IMMEDIATE`,
so two processes never both read-then-write; a transaction that finds another
process writing waits for it (asynchronously, up to `BUSY_WAIT`) instead of
failing. One `unavoz run` per SQLite file: several instances need PostgreSQL.

One connection serves the process, one transaction at a time. Brief ones (the
delivery workers' claims and outcomes: a few statements over indexes, a few
milliseconds) run right on the event loop. The others (a revision and its
fan-out, the consistency figures, migrations) run in a thread of their own, so
the loop keeps serving meanwhile. Brief transactions stay off the thread because
Python's `sqlite3` lets go of the interpreter lock around every step of every
statement — once per row read — and gets it back only when the busy event loop
lets it: in the fan-out bench a 2 ms claim took 45 ms that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from bot.store.base import StoreError
from bot.store.sql import SqlStore
from bot.store.tx import Tx

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1.0  # seconds between copies of the write-ahead log into the database
BUSY_WAIT = 10.0  # seconds a transaction waits for another process's write to end

T = TypeVar("T")


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


class _InlineTx:
    """Each statement runs where it is awaited: on the event loop (brief transactions)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, *args: Any) -> None:
        self.connection.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        return self.connection.execute(sql, args).fetchall()


class _ThreadTx:
    """Each statement runs in the store's thread, the event loop serving meanwhile."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.connection = store.connection

    async def execute(self, sql: str, *args: Any) -> None:
        await self.store._in_thread(self.connection.execute, sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.store._in_thread(self.connection.executemany, sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        def fetch() -> list[Sequence[Any]]:
            return self.connection.execute(sql, args).fetchall()

        return await self.store._in_thread(fetch)


class SqliteStore(SqlStore):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._checkpoint_thread: ThreadPoolExecutor | None = None
        # One transaction at a time: coroutines of this process queue here, other processes'
        # writes are waited out at BEGIN.
        self._lock = asyncio.Lock()

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError("the store is not open")
        return self._connection

    async def _in_thread(
        self, function: Callable[..., T], *args: Any, checkpoint: bool = False
    ) -> T:
        """`function(*args)` in the store's thread (or the checkpointer's)."""
        thread = self._checkpoint_thread if checkpoint else self._thread
        if thread is None:
            raise StoreError("the store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(thread, functools.partial(function, *args))

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves (IMMEDIATE, see above).
        return sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_WAIT
        )

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="unavoz-sqlite")
        try:
            self._connection = await self._in_thread(self._connect)
            await self._in_thread(self._configure)
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise StoreError(f"cannot open the SQLite store {self.path!r}: {exc}") from exc
        await self._migrate()
        if self.path != ":memory:":
            await self._start_checkpoints()

    def _configure(self) -> None:
        connection = self.connection
        connection.execute("PRAGMA journal_mode = WAL")  # (may wait out another writer)
        connection.execute("PRAGMA synchronous = NORMAL")  # WAL keeps it crash-safe
        connection.execute("PRAGMA foreign_keys = ON")
        # From here on a busy database is waited for at BEGIN, without blocking the loop.
        connection.execute("PRAGMA busy_timeout = 0")

    async def _start_checkpoints(self) -> None:
        """Copy the write-ahead log back into the database from a connection of its own.

        Left to SQLite, the commit that fills the log copies it back, syncing the file,
        while every transaction of this process waits behind it: replaying the fan-out
        bench's statements, that was nearly half the database time (97 µs a delivery with
        it, 52 without). Here the copy runs beside the writers instead, in a thread.
        """
        # (A thread of its own too: a connection is closed in the thread that runs its
        # statements, after them — closed while one runs, sqlite3 crashes the process.)
        self._checkpoint_thread = ThreadPoolExecutor(1, thread_name_prefix="unavoz-checkpoint")
        try:
            self._checkpointer = await self._in_thread(self._connect, checkpoint=True)
        except sqlite3.Error as exc:
            await self.close()
            raise StoreError(f"cannot open the SQLite store {self.path!r}: {exc}") from exc
        # A copy made beside a busy writer may never catch up with it: past ~40 MB of log
        # the writer copies it back itself, as SQLite would, and the file is cut back.
        self.connection.execute("PRAGMA wal_autocheckpoint = 10000")
        self.connection.execute("PRAGMA journal_size_limit = 67108864")
        self._checkpoint_task = asyncio.create_task(self._checkpoints(), name="sqlite-checkpoint")

    async def _checkpoints(self) -> None:
        checkpointer = self._checkpointer
        assert checkpointer is not None
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY)
            try:
                await self._in_thread(
                    checkpointer.execute, "PRAGMA wal_checkpoint(PASSIVE)", checkpoint=True
                )
            except Exception:  # the next one catches up; the log only grows meanwhile
                log.warning("checkpointing %s failed", self.path, exc_info=True)

    async def close(self) -> None:
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoint_task
            self._checkpoint_task = None
        if self._checkpointer is not None:
            await self._in_thread(self._checkpointer.close, checkpoint=True)  # after its work
            self._checkpointer = None
        if self._checkpoint_thread is not None:
            self._checkpoint_thread.shutdown(wait=True)
            self._checkpoint_thread = None
        if self._connection is not None:
            # After the transaction under way, if any (a worker's may outlive its task): the
            # connection must not be closed in one thread while used in another.
            async with self._lock:
                # The last connection to close checkpoints what is left.
                await self._in_thread(self._connection.close)
                self._connection = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting (without blocking the loop) while another process writes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_WAIT
        pause = 0.001
        while True:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # (or BUSY_RECOVERY…)
                    raise
                if loop.time() >= deadline:
                    raise StoreError(
                        f"the SQLite store {self.path!r} stayed locked by another process"
                        f" for {BUSY_WAIT:g} s"
                    ) from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    @asynccontextmanager
    async def _transaction(self, *, brief: bool = False) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._begin()
            try:
                yield _InlineTx(self.connection) if brief else _ThreadTx(self)
                if brief:
                    self.connection.execute("COMMIT")
                else:
                    await self._end_in_thread("COMMIT")
            except BaseException:
                if self.connection.in_transaction:  # (not when COMMIT itself went through)
                    if brief:
                        self.connection.execute("ROLLBACK")
                    else:  # after whatever the thread is still running of this transaction
                        await self._end_in_thread("ROLLBACK")
                raise

    async def _end_in_thread(self, sql: str) -> None:
        """COMMIT or ROLLBACK in the store's thread, waited for even through cancellation:
        until it is done, the connection is not free for the next transaction."""
        ending = asyncio.ensure_future(self._in_thread(self.connection.execute, sql))
        cancelled = False
        while not ending.done():
            try:
                await asyncio.shield(ending)
            except asyncio.CancelledError:
                cancelled = True
        ending.result()
        if cancelled:
            raise asyncio.CancelledError

    async def _migrate(self) -> None:
        async with self._transaction() as tx:
            await tx.execute(
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
