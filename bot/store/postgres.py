"""PostgreSQL store: several `unavoz run` instances share revisions, the outbox and the ledger.

Claims of one channel are serialized with a row lock (`channel_locks`), so the
rate-limit windows are counted by one instance at a time; revision numbers are
allotted under a transaction advisory lock; a new revision is announced with
`NOTIFY unavoz`, delivered to the other instances when the transaction commits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from bot.store.base import RevisionRecord, StoreError
from bot.store.sql import SqlStore, Tx
from bot.store.sqlite import migrations, statements

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "unavoz"
_MIGRATION_LOCK = 0x756E61766F7A01  # "unavoz" + 1: one migrating instance at a time
_REVISION_LOCK = 0x756E61766F7A02


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`?` placeholders (the shared SQL's) as PostgreSQL's `$1, $2, …`."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class _PostgresTx:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, *args: Any) -> None:
        await self.connection.execute(numbered(sql), *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.connection.executemany(numbered(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        return list(await self.connection.fetch(numbered(sql), *args))


Listener = Callable[[dict[str, Any]], None]


class PostgresStore(SqlStore):
    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        super().__init__()
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._listen_connection: asyncpg.Connection | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self.pool_size, command_timeout=60
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot reach PostgreSQL at {_safe(self.url)}: {exc}") from exc
        await self._migrate()

    async def close(self) -> None:
        if self._listen_connection is not None:
            await self._listen_connection.close()
            self._listen_connection = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as connection, connection.transaction():
            yield _PostgresTx(connection)

    async def _migrate(self) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
            )
            done = {
                row[0] for row in await connection.fetch("SELECT version FROM schema_migrations")
            }
            for version, sql in migrations("postgres"):
                if version in done:
                    continue
                for statement in statements(sql):
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())",
                    version,
                )

    # Dialect hooks ---------------------------------------------------------------------

    async def _lock_revisions(self, tx: Tx) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock(?)", _REVISION_LOCK)

    async def _lock_channel(self, tx: Tx, channel: str) -> None:
        await tx.execute(
            "INSERT INTO channel_locks (channel) VALUES (?) ON CONFLICT DO NOTHING", channel
        )
        await tx.execute("SELECT 1 FROM channel_locks WHERE channel = ? FOR UPDATE", channel)

    async def _announce(self, tx: Tx, record: RevisionRecord, deliveries: int) -> None:
        payload = json.dumps({"revision": record.number, "deliveries": deliveries})
        await tx.execute("SELECT pg_notify(?, ?)", NOTIFY_CHANNEL, payload)

    def _timestamp(self, moment: dt.datetime) -> Any:
        return moment

    # Announcements from other instances ------------------------------------------------

    async def listen(self, listener: Listener) -> None:
        """Call `listener` with each announcement (revision number, deliveries planned)."""
        if self._listen_connection is None:
            self._listen_connection = await asyncpg.connect(self.url)

        def on_notify(_: object, __: int, ___: str, payload: str) -> None:
            try:
                listener(json.loads(payload))
            except Exception:
                log.exception("announcement listener failed on %r", payload)

        await self._listen_connection.add_listener(NOTIFY_CHANNEL, on_notify)

    async def notify_work(self) -> None:
        """Wake every instance's workers (e.g. after deliveries became due)."""
        async with self.pool.acquire() as connection:
            await connection.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, "{}")


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


async def reachable(url: str, wait: float = 2.0) -> str | None:
    """None when a PostgreSQL server answers at `url`, else why not (for skipping tests)."""
    try:
        connection = await asyncio.wait_for(asyncpg.connect(url), wait)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"no PostgreSQL server answers at {_safe(url)}: {exc}"
    await connection.close()
    return None
