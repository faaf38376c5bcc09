"""PostgreSQL store: what several `unavoz run` instances share (revisions, outbox, subscriptions).

Claims take the due queue heads `FOR UPDATE SKIP LOCKED`, so instances claim side
by side, each passing over the rows another is taking; a channel with rate limits
is claimed by one instance at a time (a row lock in `channel_locks`), so its
windows are counted once. A queue's head is kept right under a per-channel
advisory lock, exclusive to enqueue and shared by outcomes; revision numbers are
allotted under a transaction advisory lock; a new revision is announced with
`NOTIFY unavoz`, delivered to the other instances when the transaction commits.
Subscribers are marked told by one upsert of their notices: an instance queueing
the same notifications at once waits for those rows, then finds them told.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from bot.delivery.model import Delivery, DeliveryState, Limit, Outcome
from bot.store.base import RevisionRecord, StoreError
from bot.store.sql import (
    LEDGER_UPSERT,
    TARGET_WINDOW_MARGIN,
    SqlStore,
    delivery_row,
    outcome_rows,
)
from bot.store.sqlite import migrations, statements
from bot.store.tx import Tx

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "unavoz"
_MIGRATION_LOCK = 0x756E61766F7A01  # "unavoz" + 1: one migrating instance at a time
_REVISION_LOCK = 0x756E61766F7A02

# What a worker does between two batches, in one round trip: its last batch recorded (sent,
# the ledger, each finished queue's next delivery), then its next batch claimed from the due
# heads and those next deliveries, which are taken first and straight away rather than marked
# heads and claimed later: one row version less each. A function, so that the queue lock is
# taken before the statement's snapshot (each statement in a function takes its own), and
# the whole runs in one statement of its own, without BEGIN and COMMIT round trips. Replaced
# at every start; the version in its name keeps instances of two releases apart.
RECORD_AND_CLAIM = "unavoz_record_and_claim_v3"
# A due head of channel `ch` that may go now: the oldest unfinished delivery of its queue
# (the probe keeps each target's order), not among those just sent, its target's own window
# (if any) not full.
_MAY_GO = """d.channel = ch AND d.head AND d.state = 'pending' AND d.next_attempt_at <= now_
        AND d.id <> ALL(sent_ids)
        AND d.id = (SELECT e.id FROM deliveries e WHERE e.channel = d.channel
            AND e.target = d.target AND e.state IN ('pending', 'sending') ORDER BY e.id LIMIT 1)
        AND (d.target_limit IS NULL OR (SELECT count(*) FROM send_log s
            WHERE s.channel = d.channel AND s.target = d.target
            AND s.at > now_ - d.target_window - margin) < d.target_limit)"""
_RECORD_AND_CLAIM = f"""
CREATE OR REPLACE FUNCTION {RECORD_AND_CLAIM}(
    queue_lock bigint, ch text, now_ float8, margin float8, budget bigint, share float8,
    instance text, lease_until_ float8, sent_ids bigint[], sent_at_ float8[],
    l_channel text[], l_target text[], l_incident text[], l_revision bigint[],
    l_fingerprint text[], l_status text[], l_payload text[], l_at float8[],
    q_channel text[], q_target text[]
) RETURNS TABLE (id bigint, idempotency_key text, revision bigint, incident_id text,
    channel text, target text, status text, fingerprint text, body text, attempts integer,
    payload_hash text)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
    IF queue_lock IS NOT NULL THEN  -- (NULL: nothing finished, or the caller holds it)
        PERFORM pg_advisory_xact_lock_shared(queue_lock);
    END IF;
    RETURN QUERY
    WITH sent AS (
        UPDATE deliveries d SET state = 'sent', sent_at = u.sent_at, last_error = NULL,
            lease_until = NULL
        FROM unnest(sent_ids, sent_at_) AS u(id, sent_at)
        -- The rows are found by key. (Not `state IN ('pending', 'sending')`, the queue
        -- index's condition: short of statistics on a fan-out just written, the planner may
        -- read that whole index for it; it did under EXPLAIN with the values written in, 6 of
        -- the statement's 17 ms at 20,000 waiting. The states not finished are those two:
        -- see the constraint deliveries_state.)
        WHERE d.id = ANY(sent_ids) AND d.id = u.id
        AND d.state NOT IN ('sent', 'failed', 'superseded')
        RETURNING d.id
    ), told AS (
        INSERT INTO ledger (channel, target, incident_id, revision, fingerprint, status,
            payload_hash, delivered_at)
        SELECT * FROM unnest(l_channel, l_target, l_incident, l_revision, l_fingerprint,
            l_status, l_payload, l_at)
        ORDER BY 1, 2, 3{LEDGER_UPSERT}
        RETURNING 1
    ), successors AS (
        -- The next of each finished queue. This statement sees those sent as unfinished;
        -- failures it sees as recorded (if their claim was still live: if not, the
        -- delivery is still its queue's unfinished head, and nothing follows it yet).
        SELECT n.* FROM unnest(q_channel, q_target) AS q(channel, target)
        CROSS JOIN LATERAL (
            SELECT e.id, e.channel, e.state, e.head, e.next_attempt_at, e.target_limit
            FROM deliveries e WHERE e.channel = q.channel AND e.target = q.target
            AND e.state IN ('pending', 'sending') AND e.id <> ALL(sent_ids)
            ORDER BY e.id LIMIT 1
        ) AS n
    ), ready AS (
        -- A target with a window of its own waits for its next claim, which counts it.
        SELECT id, next_attempt_at FROM successors WHERE channel = ch AND state = 'pending'
            AND next_attempt_at <= now_ AND target_limit IS NULL
    ), waiting AS (
        -- The due heads that may go, counted (up to the budget) but not locked: what may
        -- go now is the next deliveries and these, and the share is taken of that. (Heads
        -- another claimer is taking count too, until it commits.)
        SELECT count(*) AS n FROM (SELECT 1 FROM deliveries d WHERE {_MAY_GO}
            AND d.id NOT IN (SELECT id FROM ready) LIMIT budget) AS w
    ), quota AS (
        SELECT least(budget, ceil(((SELECT count(*) FROM ready) + (SELECT n FROM waiting))
            * share)::bigint) AS n
    ), due AS (
        -- Only as many heads are locked as the quota leaves after the next deliveries:
        -- each lock is a row version's header written (and logged). Claimers at once
        -- still pass over each other's. (The heads it locks are checked twice, counted
        -- and then taken: measured, still a fifth less of the server's time.)
        SELECT d.id, d.next_attempt_at FROM deliveries d WHERE {_MAY_GO}
        ORDER BY d.next_attempt_at, d.id
        LIMIT greatest((SELECT n FROM quota) - (SELECT count(*) FROM ready), 0)
        FOR UPDATE OF d SKIP LOCKED
    ), candidates AS (
        -- The next deliveries first: taken now, they are written once, not marked head and
        -- then claimed. (One already marked head may be among the due too.)
        SELECT DISTINCT ON (id) id, next_attempt_at, rank FROM (
            SELECT id, next_attempt_at, 1 AS rank FROM due
            UNION ALL
            SELECT id, next_attempt_at, 0 FROM ready
        ) AS c ORDER BY id, rank
    ), taken AS (
        SELECT id FROM candidates ORDER BY rank, next_attempt_at, id
        LIMIT (SELECT n FROM quota)
    ), claimed AS (
        UPDATE deliveries d SET head = TRUE, state = 'sending', claimed_by = instance,
            claimed_at = now_, lease_until = lease_until_, attempts = d.attempts + 1
        -- (A next delivery is not locked when chosen: one that another instance's record
        -- claimed meanwhile is re-checked here, and left to it.)
        FROM taken WHERE d.id = taken.id AND d.state = 'pending'
        RETURNING d.id, d.idempotency_key, d.revision, d.incident_id, d.channel, d.target,
            d.status, d.fingerprint, d.payload_hash, d.attempts, d.target_limit, d.next_attempt_at
    ), promoted AS (
        UPDATE deliveries d SET head = TRUE FROM successors s
        WHERE d.id = s.id AND NOT s.head AND s.id NOT IN (SELECT id FROM taken)
    ), logged AS (
        INSERT INTO send_log (channel, target, at)
        SELECT channel, target, now_ FROM claimed WHERE target_limit IS NOT NULL ORDER BY id
    ), woken AS (
        SELECT pg_notify('{NOTIFY_CHANNEL}', '{{}}')
        WHERE (SELECT count(*) FROM ready) + (SELECT n FROM waiting) > (SELECT n FROM quota)
    )
    SELECT c.id, c.idempotency_key, c.revision, c.incident_id, c.channel, c.target, c.status,
        c.fingerprint, p.body, c.attempts, c.payload_hash
    FROM claimed c JOIN payloads p ON p.hash = c.payload_hash
    WHERE (SELECT count(*) FROM woken) >= 0  -- (a CTE that is not read is not run)
    ORDER BY c.next_attempt_at, c.id;
END
$fn$
"""


_CALL = f"SELECT * FROM {RECORD_AND_CLAIM}(" + ", ".join("?" * 20) + ")"


def _call_arguments(
    queue_lock: int | None,
    channel: str | None,
    now: float,
    limit: int,
    share: float,
    instance: str,
    lease_until: float,
    sent: Sequence[tuple[int, float | None]],
    told: Sequence[tuple[Any, ...]],
    finished: Sequence[Delivery],
) -> list[Any]:
    """RECORD_AND_CLAIM's arguments, in its order (see `outcome_rows` for the last three)."""
    queues = sorted({(d.channel, d.target) for d in finished})
    ledger = [list(column) for column in zip(*told, strict=True)] if told else [[]] * 8
    return [
        queue_lock,
        channel,
        now,
        TARGET_WINDOW_MARGIN,
        max(limit, 0),
        share,
        instance,
        lease_until,
        [id_ for id_, _ in sent],
        [sent_at for _, sent_at in sent],
        *ledger,
        [c for c, _ in queues],
        [t for _, t in queues],
    ]


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`?` placeholders (the shared SQL's) as PostgreSQL's `$1, $2, …`."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class _PostgresTx:
    """A transaction that spends as few round trips as it can.

    Every statement is a round trip, and on a busy event loop each costs a loop turn
    (about 10 ms in the fan-out bench) more than the server's work. So BEGIN, and the
    statements without parameters after it (the lock statements), wait and go with the
    next statement in one simple query, and whatever is still waiting goes with COMMIT.
    """

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self._waiting = ["BEGIN"]

    async def _flush(self) -> None:
        if self._waiting:
            waiting, self._waiting = self._waiting, []
            await self.connection.execute(";\n".join(waiting))

    async def execute(self, sql: str, *args: Any) -> None:
        if not args:
            self._waiting.append(sql)
            return
        await self._flush()
        await self.connection.execute(numbered(sql), *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._flush()
        await self.connection.executemany(numbered(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        await self._flush()
        return list(await self.connection.fetch(numbered(sql), *args))

    async def commit(self) -> None:
        self._waiting.append("COMMIT")
        await self._flush()


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool.

    The store's connections keep no session state (no session locks, LISTEN, cursors
    or settings: those live on connections of their own), and the pool still rolls
    back an unfinished transaction; asyncpg's default reset would be a round trip per
    transaction.
    """


Listener = Callable[[dict[str, Any]], None]


class PostgresStore(SqlStore):
    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        super().__init__()
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._listen_connection: asyncpg.Connection | None = None
        self._lock_rows: set[str] = set()  # channels whose claim-lock row surely exists
        self._queue_keys: dict[str, int] = {}  # per channel: its queue lock's key

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.pool_size,
                command_timeout=60,
                reset=_keep_session,
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
        async with self.pool.acquire() as connection:
            tx = _PostgresTx(connection)
            try:
                yield tx
            except BaseException:
                # (Should this fail too, the pool rolls back before lending the connection.)
                if connection.is_in_transaction():
                    with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
                        await connection.execute("ROLLBACK")
                raise
            await tx.commit()

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
            await connection.execute(_RECORD_AND_CLAIM)

    # Dialect hooks ---------------------------------------------------------------------

    _SKIP_LOCKED = " FOR UPDATE OF d SKIP LOCKED"
    # (Not FOR UPDATE: rows that others only reference, as a foreign key's check does,
    # stay free to them.)
    _FOR_UPDATE = " FOR NO KEY UPDATE"

    async def _lock_revisions(self, tx: Tx) -> None:
        await tx.execute(f"SELECT pg_advisory_xact_lock({_REVISION_LOCK:d})")

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
            # An integer in the text, so the statement can go with BEGIN (see _PostgresTx).
            await tx.execute(f"SELECT {function}({await self._queue_key(channel, tx):d})")

    async def _queue_key(self, channel: str, tx: Tx | None = None) -> int:
        """The key of `channel`'s queue lock: the server's hash of its name, asked once, so
        every instance agrees (in `tx`, if given: not a second connection of the pool)."""
        key = self._queue_keys.get(channel)
        if key is None:
            query = "SELECT hashtextextended(?, 0)"
            name = f"unavoz-queue:{channel}"
            if tx is not None:
                value = (await tx.fetch(query, name))[0][0]
            else:
                value = await self.pool.fetchval(numbered(query), name)
            key = self._queue_keys[channel] = int(value)
        return key

    async def _wake_others(self, tx: Tx) -> None:
        await tx.execute(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '{{}}')")

    async def _announce(self, tx: Tx, record: RevisionRecord, deliveries: int) -> None:
        payload = json.dumps({"revision": record.number, "deliveries": deliveries})
        await tx.execute("SELECT pg_notify(?, ?)", NOTIFY_CHANNEL, payload)

    def _timestamp(self, moment: dt.datetime) -> Any:
        return moment

    def _id_list(self, ids: Sequence[int]) -> tuple[str, Any]:
        return "SELECT unnest(?::bigint[])", list(ids)

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

    async def _finish_sent(
        self,
        tx: Tx,
        sent: Sequence[tuple[int, float | None]],
        told: Sequence[tuple[Any, ...]],
        finished: Sequence[Delivery],
    ) -> None:
        if not finished:  # (only retries)
            return
        # RECORD_AND_CLAIM claiming nothing (no channel, no budget); the caller holds the
        # queue lock.
        await tx.fetch(
            _CALL, *_call_arguments(None, None, time.time(), 0, 1.0, "", 0.0, sent, told, finished)
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

    async def claim_deliveries(
        self,
        channel: str,
        *,
        instance: str,
        limit: int,
        lease: float,
        limits: Sequence[Limit] = (),
        now: float | None = None,
        finished: Sequence[Outcome] = (),
        share: float = 1.0,
    ) -> list[Delivery]:
        """As SqlStore's; where the channel has no limits of its own, in one round trip.

        A channel's own limits are counted under its lock row, in a transaction of several
        statements: SqlStore's way. Without them, one call of `RECORD_AND_CLAIM` records
        `finished` and claims the next batch and, when it leaves some of what may go to
        other instances, wakes them. Retries and failures to record, and expired leases to
        take back, are done first in the same transaction (rare; a few more round trips).
        """
        if limits:
            return await super().claim_deliveries(
                channel,
                instance=instance,
                limit=limit,
                lease=lease,
                limits=limits,
                now=now,
                finished=finished,
                share=share,
            )
        now = time.time() if now is None else now
        sent, told, done = outcome_rows(finished)
        channels = sorted({o.delivery.channel for o in finished})
        setbacks = any(o.state is not DeliveryState.SENT for o in finished)
        lease_check = now >= self._lease_check_at.get(channel, 0.0)

        def arguments(queue_lock: int | None) -> list[Any]:
            return _call_arguments(
                queue_lock, channel, now, limit, share, instance, now + lease, sent, told, done
            )

        if setbacks or lease_check or channels not in ([], [channel]):
            async with self._transaction() as tx:
                await self._lock_queues(tx, channels, exclusive=False)
                await self._record_setbacks(tx, finished, instance)
                if lease_check:
                    await self._take_back_leases(tx, channel, now=now, lease=lease)
                rows = await tx.fetch(_CALL, *arguments(None))
        else:
            key = await self._queue_key(channel) if finished else None
            rows = await self.pool.fetch(numbered(_CALL), *arguments(key))
        return [delivery_row(row) for row in rows]

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
