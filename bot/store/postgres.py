"""PostgreSQL store: several `unavoz run` instances share revisions, the outbox and the ledger.

Claims take the due queue heads `FOR UPDATE SKIP LOCKED`, so instances claim side
by side, each passing over the rows another is taking; a channel with rate limits
is claimed by one instance at a time (a row lock in `channel_locks`), so its
windows are counted once. A queue's head is kept right under a per-channel
advisory lock, exclusive to enqueue and shared by outcomes; revision numbers are
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
from bot.store.sql import LEDGER_UPSERT, SqlStore, Tx
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
        self._lock_rows: set[str] = set()  # channels whose claim-lock row surely exists

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
    async def _transaction(self, *, brief: bool = False) -> AsyncIterator[Tx]:
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

    _SKIP_LOCKED = " FOR UPDATE OF d SKIP LOCKED"

    async def _lock_revisions(self, tx: Tx) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock(?)", _REVISION_LOCK)

    async def _lock_channel(self, tx: Tx, channel: str) -> None:
        if channel not in self._lock_rows:
            await tx.execute(
                "INSERT INTO channel_locks (channel) VALUES (?) ON CONFLICT DO NOTHING", channel
            )
            self._lock_rows.add(channel)  # (rows are never deleted)
        await tx.execute("SELECT 1 FROM channel_locks WHERE channel = ? FOR UPDATE", channel)

    async def _lock_queues(self, tx: Tx, channels: Sequence[str], *, exclusive: bool) -> None:
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        for channel in channels:
            await tx.execute(
                f"SELECT {function}(hashtextextended(?, 0))", f"unavoz-queue:{channel}"
            )

    async def _announce(self, tx: Tx, record: RevisionRecord, deliveries: int) -> None:
        payload = json.dumps({"revision": record.number, "deliveries": deliveries})
        await tx.execute("SELECT pg_notify(?, ?)", NOTIFY_CHANNEL, payload)

    def _timestamp(self, moment: dt.datetime) -> Any:
        return moment

    # The per-delivery statements, each one statement over arrays: a row at a time, the
    # protocol and the executor's start-up per row cost more than the row itself.

    async def _mark_claimed(
        self, tx: Tx, ids: Sequence[int], *, instance: str, now: float, lease: float
    ) -> None:
        await tx.execute(
            "UPDATE deliveries SET state = 'sending', claimed_by = ?, claimed_at = ?,"
            " lease_until = ?, attempts = attempts + 1 WHERE id = ANY(?::bigint[])",
            instance,
            now,
            now + lease,
            list(ids),
        )

    async def _log_sends(self, tx: Tx, ids: Sequence[int], *, now: float) -> None:
        await tx.execute(
            "INSERT INTO send_log (channel, target, at) SELECT channel, target, ?"
            " FROM deliveries WHERE id = ANY(?::bigint[]) ORDER BY id",
            now,
            list(ids),
        )

    async def _mark_sent(self, tx: Tx, sent: Sequence[tuple[int, float | None]]) -> None:
        await tx.execute(
            "UPDATE deliveries d SET state = 'sent', sent_at = u.sent_at, last_error = NULL,"
            " lease_until = NULL FROM unnest(?::bigint[], ?::float8[]) AS u(id, sent_at)"
            " WHERE d.id = u.id AND d.state IN ('pending', 'sending')",
            [id_ for id_, _ in sent],
            [sent_at for _, sent_at in sent],
        )

    async def _write_ledger(self, tx: Tx, rows: Sequence[tuple[Any, ...]]) -> None:
        columns = list(zip(*rows, strict=True))
        await tx.execute(
            "INSERT INTO ledger (channel, target, incident_id, revision, fingerprint,"
            " status, payload_hash, delivered_at) SELECT * FROM unnest(?::text[], ?::text[],"
            " ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::float8[])"
            " ORDER BY 1, 2, 3" + LEDGER_UPSERT,
            *(list(column) for column in columns),
        )

    async def _promote(self, tx: Tx, queues: Sequence[tuple[str, str]]) -> None:
        if not queues:
            return
        unique = sorted(set(queues))
        await tx.execute(
            # ARRAY(…) is worked out first, then the heads are found by key: as `IN (…)`
            # the planner may join it against the whole table instead.
            "UPDATE deliveries SET head = TRUE WHERE id = ANY(ARRAY(SELECT (SELECT e.id"
            " FROM deliveries e WHERE e.channel = q.channel AND e.target = q.target"
            " AND e.state IN ('pending', 'sending') ORDER BY e.id LIMIT 1)"
            " FROM unnest(?::text[], ?::text[]) AS q(channel, target))) AND NOT head",
            [channel for channel, _ in unique],
            [target for _, target in unique],
        )

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
