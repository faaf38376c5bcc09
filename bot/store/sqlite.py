"""SQLite store (the embedded default): one file, shared safely by the CLI and `unavoz run`."""

from __future__ import annotations

import asyncio
import datetime as dt
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Self

import aiosqlite

from bot.store.base import BeforeCommit, RevisionRecord, StoreError, document_hash

_MIGRATIONS = "bot.store.migrations.sqlite"
_COLUMNS = "number, content_hash, author, source, created_at, document"


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) in order, from the numbered files beside this module."""
    found = []
    for entry in files(_MIGRATIONS).iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _record(row: aiosqlite.Row) -> RevisionRecord:
    return RevisionRecord(
        number=row[0],
        content_hash=row[1],
        author=row[2],
        source=row[3],
        created_at=dt.datetime.fromisoformat(row[4]),
        document=row[5],
    )


class SqliteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
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
            # isolation_level=None: we issue BEGIN ourselves, so a write transaction is
            # BEGIN IMMEDIATE and two processes never both read-then-write.
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
        except Exception as exc:
            raise StoreError(f"cannot open the SQLite store {self.path!r}: {exc}") from exc
        await self.db.execute("PRAGMA busy_timeout = 10000")
        await self.db.execute("PRAGMA journal_mode = WAL")
        await self.db.execute("PRAGMA foreign_keys = ON")
        await self._migrate()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _migrate(self) -> None:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for version, sql in migrations():
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                # Checked inside the write lock: another process may have just applied it.
                cursor = await self.db.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                )
                if await cursor.fetchone() is None:
                    for statement in sql.split(";"):
                        if statement.strip():
                            await self.db.execute(statement)
                    await self.db.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                        (version, dt.datetime.now(dt.UTC).isoformat()),
                    )
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise

    async def record_revision(
        self,
        document: str,
        *,
        author: str,
        source: str,
        before_commit: BeforeCommit | None = None,
    ) -> tuple[RevisionRecord, bool]:
        content_hash = document_hash(document)
        async with self._lock:
            return await self._record_revision(
                document, content_hash, author, source, before_commit
            )

    async def _record_revision(
        self,
        document: str,
        content_hash: str,
        author: str,
        source: str,
        before_commit: BeforeCommit | None,
    ) -> tuple[RevisionRecord, bool]:
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = await self.db.execute(
                f"SELECT {_COLUMNS} FROM revisions ORDER BY number DESC LIMIT 1"
            )
            row = await cursor.fetchone()
            latest = _record(row) if row is not None else None
            if latest is not None and latest.content_hash == content_hash:
                await self.db.execute("COMMIT")
                return latest, False
            record = RevisionRecord(
                number=(latest.number if latest else 0) + 1,
                content_hash=content_hash,
                author=author,
                source=source,
                created_at=dt.datetime.now(dt.UTC),
                document=document,
            )
            await self.db.execute(
                f"INSERT INTO revisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.number,
                    record.content_hash,
                    record.author,
                    record.source,
                    record.created_at.isoformat(),
                    record.document,
                ),
            )
            if before_commit is not None:
                await before_commit(record)
            await self.db.execute("COMMIT")
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise
        return record, True

    async def _rows(self, sql: str, parameters: tuple[object, ...] = ()) -> list[RevisionRecord]:
        async with self._lock:
            cursor = await self.db.execute(sql, parameters)
            return [_record(row) for row in await cursor.fetchall()]

    async def latest_revision(self) -> RevisionRecord | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM revisions ORDER BY number DESC LIMIT 1")
        return rows[0] if rows else None

    async def get_revision(self, number: int) -> RevisionRecord | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM revisions WHERE number = ?", (number,))
        return rows[0] if rows else None

    async def list_revisions(
        self, *, limit: int = 50, before: int | None = None
    ) -> list[RevisionRecord]:
        return await self._rows(
            f"SELECT {_COLUMNS} FROM revisions WHERE number < ? ORDER BY number DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
