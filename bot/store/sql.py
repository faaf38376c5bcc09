"""The store's logic, written once in SQL both SQLite and PostgreSQL run.

A backend supplies transactions (`_transaction`) and its few dialect hooks: how
claims of one channel are serialized across processes, and how other instances
hear of a new revision. Everything else — revisions, the outbox, supersession,
rate-limit windows, the ledger, the consistency figures, subscriptions (and, in
`telegram_sql.py`, what the Telegram channels remember) — lives here, so both
stores pass the same contract tests because they are the same code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

from bot.delivery.model import (
    UNRECORDED,
    Delivery,
    DeliveryState,
    Limit,
    NewDelivery,
    Outcome,
)
from bot.store.base import (
    BeforeCommit,
    ChannelFigures,
    LedgerEntry,
    Place,
    PlaceCount,
    Planner,
    RevisionRecord,
    Subscription,
    document_hash,
)
from bot.store.sql_handoffs import HandoffSql
from bot.store.sql_x import XSql
from bot.store.telegram_sql import TelegramSql
from bot.store.tx import Tx

_REVISION_COLUMNS = "number, content_hash, author, source, created_at, document"
_DELIVERY_COLUMNS = (
    "d.id, d.idempotency_key, d.revision, d.incident_id, d.channel, d.target, d.status,"
    " d.fingerprint, p.body, d.attempts, d.payload_hash"
)
# Rate-limit windows older than this are of no use to any limit (X's is 15 minutes).
SEND_LOG_HORIZON = 3600.0
# A target's window is counted from when a delivery was claimed, which is a little before it
# is sent: widening it by this much keeps the gap between two sends to one target honest.
TARGET_WINDOW_MARGIN = 1.0
# A newer revision told replaces what the ledger holds for a target and incident; an older
# one (a late retry) does not.
LEDGER_UPSERT = (
    " ON CONFLICT (channel, target, incident_id) DO UPDATE SET"
    " revision = excluded.revision, fingerprint = excluded.fingerprint,"
    " status = excluded.status, payload_hash = excluded.payload_hash,"
    " delivered_at = excluded.delivered_at"
    " WHERE ledger.revision <= excluded.revision"
)
# The oldest unfinished delivery of queue `q` (a [channel, target] pair from `json_each`):
# its head. (SQLite's; PostgreSQL's statements read their queues from arrays.)
_QUEUE_OLDEST = (
    "(SELECT e.id FROM deliveries e WHERE e.channel = q.value ->> 0"
    " AND e.target = q.value ->> 1 AND e.state IN ('pending', 'sending')"
    " ORDER BY e.id LIMIT 1)"
)
# At most this often (and four times per lease) a claim looks for leases that expired.
LEASE_CHECK_EVERY = 5.0


def payload_hash(body: str) -> str:
    return hashlib.blake2b(body.encode("utf-8"), digest_size=16).hexdigest()


def _revision(row: Sequence[Any]) -> RevisionRecord:
    created = row[4]
    return RevisionRecord(
        number=int(row[0]),
        content_hash=row[1],
        author=row[2],
        source=row[3],
        created_at=created
        if isinstance(created, dt.datetime)
        else dt.datetime.fromisoformat(created),
        document=row[5],
    )


def delivery_row(row: Sequence[Any], claimed: bool = False) -> Delivery:
    """A delivery from the columns of `_DELIVERY_COLUMNS` (attempts before this claim's
    when `claimed`)."""
    return Delivery(  # (by position: a third quicker than by name, for every delivery)
        int(row[0]),  # id
        row[1],  # idempotency_key
        int(row[2]),  # revision
        row[3],  # incident_id
        row[4],  # channel
        row[5],  # target
        row[6],  # status
        row[7],  # fingerprint
        row[8],  # payload
        int(row[9]) + (1 if claimed else 0),  # attempts: the claim counts as one
        row[10],  # payload_hash
    )


def outcome_rows(
    outcomes: Sequence[Outcome],
) -> tuple[list[tuple[int, float | None]], list[tuple[Any, ...]], list[Delivery]]:
    """Of `outcomes`: (id, sent_at) of those sent; the ledger rows they make, one per
    channel, target and incident, the newest revision told (none for `UNRECORDED` ones);
    the deliveries finished (sent or failed for good), whose queues pass to the next
    delivery waiting."""
    sent = [o for o in outcomes if o.state is DeliveryState.SENT]
    told = {}
    for o in sorted(sent, key=lambda o: o.delivery.revision):
        d = o.delivery
        if d.status == UNRECORDED:
            continue
        told[(d.channel, d.target, d.incident_id)] = (
            d.channel,
            d.target,
            d.incident_id,
            d.revision,
            d.fingerprint,
            d.status,
            d.payload_hash or payload_hash(d.payload),
            o.sent_at,
        )
    finished = [o.delivery for o in outcomes if o.state is not DeliveryState.PENDING]
    return [(o.delivery.id, o.sent_at) for o in sent], list(told.values()), finished


# `queue_notifications` in chunks: the first of the size asked, each next one twice the
# last, up to this many times the first.
LARGEST_CHUNK_TIMES = 16
FORGET_RANGE = 50_000  # ids of the outbox a /forget looks through per transaction


class SqlStore(XSql, TelegramSql, HandoffSql):
    """Shared implementation; subclasses provide `_transaction` and the dialect hooks."""

    _lease_check_at: dict[str, float]  # per channel: when to look for expired leases again

    def __init__(self) -> None:
        self._lease_check_at = {}

    def _transaction(self, *, brief: bool = False) -> AbstractAsyncContextManager[Tx]:
        """One transaction. `brief`: a few statements over indexes, a few milliseconds
        at most, which a store may run without handing them to another thread."""
        raise NotImplementedError

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

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

    # Dialect hooks ---------------------------------------------------------------------

    # Claimers running at once pass over each other's rows rather than wait for them (only
    # PostgreSQL has claimers at once; SQLite runs one transaction at a time).
    _SKIP_LOCKED = ""
    # Rows a transaction is about to change (not their keys), locked as it reads them
    # (SQLite's transactions are one at a time already).
    _FOR_UPDATE = ""

    async def _lock_revisions(self, tx: Tx) -> None:
        """Serialize revision numbering across processes (SQLite's BEGIN IMMEDIATE does)."""

    async def _lock_channel(self, tx: Tx, channel: str) -> None:
        """Serialize claims of one channel across processes (rate windows need it)."""

    async def _lock_queues(self, tx: Tx, channels: Sequence[str], *, exclusive: bool) -> None:
        """Keep each channel's queue heads right when instances write at once.

        Enqueueing takes it alone, recording outcomes shares it: a delivery enqueued
        while the one before it finishes elsewhere would otherwise find that one still
        unfinished, while the finishing side could not yet see the new one, and neither
        would mark it its queue's head. Always taken before the channel's claim lock.
        """

    async def _announce(self, tx: Tx, record: RevisionRecord, deliveries: int) -> None:
        """Tell other instances, on commit, that a revision (and its deliveries) exists."""

    async def _wake_others(self, tx: Tx) -> None:
        """On commit, wake other instances' workers: a claim left work for them."""

    def _timestamp(self, moment: dt.datetime) -> Any:
        return moment.isoformat()

    # Revisions -------------------------------------------------------------------------

    async def record_revision(
        self,
        document: str,
        *,
        author: str,
        source: str,
        plan: Planner | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> tuple[RevisionRecord, bool]:
        content_hash = document_hash(document)
        async with self._transaction() as tx:
            await self._lock_revisions(tx)
            rows = await tx.fetch(
                f"SELECT {_REVISION_COLUMNS} FROM revisions ORDER BY number DESC LIMIT 1"
            )
            latest = _revision(rows[0]) if rows else None
            if latest is not None and latest.content_hash == content_hash:
                return latest, False
            record = RevisionRecord(
                number=(latest.number if latest else 0) + 1,
                content_hash=content_hash,
                author=author,
                source=source,
                created_at=dt.datetime.now(dt.UTC),
                document=document,
            )
            await tx.execute(
                f"INSERT INTO revisions ({_REVISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                record.number,
                record.content_hash,
                record.author,
                record.source,
                self._timestamp(record.created_at),
                record.document,
            )
            planned = list(await plan(latest, record)) if plan is not None else []
            await self._enqueue(tx, planned)
            if before_commit is not None:
                await before_commit(record)
            await self._announce(tx, record, len(planned))
        return record, True

    async def _enqueue(self, tx: Tx, planned: Sequence[NewDelivery]) -> None:
        if not planned:
            return
        # Two deliveries with one idempotency key (a plan naming a target twice for one
        # incident) would tell the target once and leave the other waiting for ever.
        keys = [d.idempotency_key for d in planned]
        seen: set[str] = set()
        for key, d in zip(keys, planned, strict=True):
            if key in seen:
                raise ValueError(
                    f"the plan for revision {d.revision} names {d.channel} target"
                    f" {d.target!r} twice for incident {d.incident_id!r}"
                )
            seen.add(key)
        # First of all: before this transaction locks a waiting delivery (superseding it)
        # that an outcome recorded elsewhere would mark as its queue's head, and before
        # it takes ids that another enqueuer's could overtake.
        await self._lock_queues(tx, sorted({d.channel for d in planned}), exclusive=True)
        now = time.time()
        # A customer gets the latest truth, not a backlog: a newer revision replaces what is
        # still waiting for the same incident and target — but only back to the last change
        # of status waiting, so every change of status (a resolution above all) is told.
        # (The queue index finds the target's unfinished deliveries: its condition is spelt
        # out, and `+id` keeps SQLite from walking the table by id instead.)
        await tx.executemany(
            "UPDATE deliveries SET state = 'superseded' WHERE channel = ? AND target = ?"
            " AND state IN ('pending', 'sending')"
            " AND incident_id = ? AND state = 'pending' AND status = ?"
            " AND +id > COALESCE((SELECT max(e.id) FROM deliveries e WHERE e.channel = ?"
            "   AND e.target = ? AND e.incident_id = ? AND e.state IN ('pending', 'sending')"
            "   AND e.status <> ?), 0)",
            [(d.channel, d.target, d.incident_id, d.status) * 2 for d in planned],
        )
        hashes = [payload_hash(d.payload) for d in planned]
        await tx.executemany(
            "INSERT INTO payloads (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
            list({h: (h, d.payload) for h, d in zip(hashes, planned, strict=True)}.values()),
        )
        await tx.executemany(
            "INSERT INTO deliveries (idempotency_key, revision, incident_id, channel, target,"
            " status, fingerprint, payload_hash, state, next_attempt_at, created_at,"
            " target_limit, target_window) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            [
                (
                    key,
                    d.revision,
                    d.incident_id,
                    d.channel,
                    d.target,
                    d.status,
                    d.fingerprint,
                    h,
                    now,
                    now,
                    d.target_limit.count if d.target_limit else None,
                    d.target_limit.seconds if d.target_limit else None,
                )
                for d, h, key in zip(planned, hashes, keys, strict=True)
            ],
        )
        await self._promote(tx, [(d.channel, d.target) for d in planned])

    # The statements run for every delivery. SQLite runs them in the workers' brief
    # transactions, on the event loop, where `executemany` (its statement prepared once,
    # the rows bound in C) is the cheapest way: measured against one statement reading a
    # JSON array, 12 µs a row against 17 to claim, 17 against 34 to mark sent, 9 against
    # 15 for the ledger. PostgreSQL has its own versions, one statement over arrays.

    async def _mark_claimed(
        self, tx: Tx, ids: Sequence[int], *, instance: str, now: float, lease: float
    ) -> None:
        await tx.executemany(
            "UPDATE deliveries SET state = 'sending', head = TRUE, claimed_by = ?,"
            " claimed_at = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?",
            [(instance, now, now + lease, id_) for id_ in ids],
        )

    async def _log_sends(self, tx: Tx, ids: Sequence[int], *, now: float) -> None:
        await tx.executemany(
            "INSERT INTO send_log (channel, target, at) SELECT channel, target, ?"
            " FROM deliveries WHERE id = ?",
            [(now, id_) for id_ in sorted(ids)],
        )

    async def _mark_sent(self, tx: Tx, sent: Sequence[tuple[int, float | None]]) -> None:
        await tx.executemany(
            "UPDATE deliveries SET state = 'sent', sent_at = ?, last_error = NULL,"
            " lease_until = NULL WHERE id = ? AND state IN ('pending', 'sending')",
            [(sent_at, id_) for id_, sent_at in sent],
        )

    async def _write_ledger(self, tx: Tx, rows: Sequence[tuple[Any, ...]]) -> None:
        await tx.executemany(
            "INSERT INTO ledger (channel, target, incident_id, revision, fingerprint,"
            " status, payload_hash, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" + LEDGER_UPSERT,
            rows,
        )

    async def _promote(self, tx: Tx, queues: Sequence[tuple[str, str]]) -> None:
        """Mark the oldest unfinished delivery of each (channel, target) as its queue's head.

        Called, under the queue lock, wherever a queue may have gained or lost its head:
        deliveries enqueued (to an idle target, or superseding a waiting head) and
        deliveries finished. A claim then reads the heads off an index.
        """
        if queues:
            await tx.execute(
                f"UPDATE deliveries SET head = TRUE WHERE id IN (SELECT {_QUEUE_OLDEST}"
                " FROM json_each(?) AS q) AND NOT head",
                json.dumps(sorted(set(queues))),
            )

    async def latest_revision(self) -> RevisionRecord | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_REVISION_COLUMNS} FROM revisions ORDER BY number DESC LIMIT 1"
            )
        return _revision(rows[0]) if rows else None

    async def get_revision(self, number: int) -> RevisionRecord | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE number = ?", number
            )
        return _revision(rows[0]) if rows else None

    async def list_revisions(
        self, *, limit: int = 50, before: int | None = None
    ) -> list[RevisionRecord]:
        async with self._transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {_REVISION_COLUMNS} FROM revisions WHERE number < ?"
                " ORDER BY number DESC LIMIT ?",
                before if before is not None else 2**62,
                limit,
            )
        return [_revision(row) for row in rows]

    async def revision_cursor(self, name: str) -> int | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch("SELECT revision FROM revision_cursors WHERE name = ?", name)
        return int(rows[0][0]) if rows else None

    async def advance_revision_cursor(self, name: str, revision: int) -> None:
        async with self._transaction(brief=True) as tx:
            await tx.execute(
                "INSERT INTO revision_cursors (name, revision) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET revision = excluded.revision"
                " WHERE revision_cursors.revision < excluded.revision",
                name,
                revision,
            )

    # Outbox ----------------------------------------------------------------------------

    async def enqueue(self, deliveries: Sequence[NewDelivery]) -> int:
        """Queue deliveries made outside a revision's plan (replies to people, alerts of a
        time edge): the same outbox, limits and ledger; a key already queued is not again."""
        if not deliveries:
            return 0
        async with self._transaction() as tx:
            fresh = []
            for d in deliveries:
                # Found through the index on (channel, target, incident_id, state): there is
                # no index on the key itself (see 0005); a key is its four parts.
                rows = await tx.fetch(
                    "SELECT 1 FROM deliveries WHERE channel = ? AND target = ?"
                    " AND incident_id = ? AND revision = ? LIMIT 1",
                    d.channel,
                    d.target,
                    d.incident_id,
                    d.revision,
                )
                if not rows:
                    fresh.append(d)
            await self._enqueue(tx, fresh)
        return len(fresh)

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
        """Claim up to `limit` deliveries that may go now, in order, within the rate limits.

        Only the oldest unfinished delivery of each target is claimable, so a target's
        messages arrive in order and one at a time; a lease that expires (its instance
        died) makes a delivery claimable again. `finished` — the outcomes of the worker's
        previous batch — are recorded first, in the same transaction, so a target's next
        delivery can be claimed without a round trip of its own. With `share` < 1, only
        that fraction of what could go now is taken, leaving the rest to other workers.
        """
        now = time.time() if now is None else now
        async with self._transaction(brief=True) as tx:
            if finished:
                channels = sorted({o.delivery.channel for o in finished})
                await self._lock_queues(tx, channels, exclusive=False)
            if limits:  # the channel's windows are counted by one claimer at a time
                await self._lock_channel(tx, channel)
            if limits or share < 1.0:
                await self._record_outcomes(tx, finished, instance)
                taken = []
            else:  # nothing to count or to share: each finished queue's next goes now
                taken = await self._record_taking_next(
                    tx, channel, finished, instance, now=now, lease=lease, limit=limit
                )
            if now >= self._lease_check_at.get(channel, 0.0):
                await self._take_back_leases(tx, channel, now=now, lease=lease)
            budget = limit - len(taken)
            for window in limits:
                rows = await tx.fetch(
                    "SELECT count(*) FROM send_log WHERE channel = ? AND at > ?",
                    channel,
                    now - window.seconds,
                )
                budget = min(budget, window.count - int(rows[0][0]))
            if budget <= 0:
                return taken
            # The head of each target's queue (its oldest unfinished delivery) is the only
            # one that may go: the due heads come off their index, oldest due first. The
            # probe for the queue's oldest is what keeps each target's order (a probe per
            # head, planned as one even before PostgreSQL has statistics of the table).
            rows = await tx.fetch(
                f"SELECT {_DELIVERY_COLUMNS}, d.target_limit FROM deliveries d"
                " JOIN payloads p ON p.hash = d.payload_hash"
                " WHERE d.channel = ? AND d.head AND d.state = 'pending'"
                " AND d.next_attempt_at <= ?"
                " AND d.id = (SELECT e.id FROM deliveries e WHERE e.channel = d.channel"
                "   AND e.target = d.target AND e.state IN ('pending', 'sending')"
                "   ORDER BY e.id LIMIT 1)"
                " AND (d.target_limit IS NULL OR (SELECT count(*) FROM send_log s"
                "   WHERE s.channel = d.channel AND s.target = d.target"
                "   AND s.at > ? - d.target_window - ?) < d.target_limit)"
                f" ORDER BY d.next_attempt_at, d.id LIMIT ?{self._SKIP_LOCKED}",
                channel,
                now,
                now,
                TARGET_WINDOW_MARGIN,
                budget,
            )
            if share < 1.0 and len(rows) > 1:
                rows = rows[: math.ceil(len(rows) * share)]
                await self._wake_others(tx)
            claimed = [delivery_row(row, claimed=True) for row in rows]
            if claimed:
                ids = [d.id for d in claimed]
                await self._mark_claimed(tx, ids, instance=instance, now=now, lease=lease)
                # Only limited sends need remembering: the channel's, or a target's own.
                limited = ids if limits else [row[0] for row in rows if row[-1] is not None]
                if limited:
                    await self._log_sends(tx, limited, now=now)
        return taken + claimed

    async def _record_taking_next(
        self,
        tx: Tx,
        channel: str,
        outcomes: Sequence[Outcome],
        instance: str,
        *,
        now: float,
        lease: float,
        limit: int,
    ) -> list[Delivery]:
        """Record `outcomes` (as `_record_outcomes`) and claim, up to `limit`, each finished
        queue's next delivery of `channel` that may go now.

        Claimed straight away, not marked its queue's head for the claim that follows to
        read back off the heads index: one row write and two entries of that index less
        per delivery. For claims with nothing to count (no limits) and nothing to share;
        PostgreSQL does the same in its RECORD_AND_CLAIM function. They go before older
        due heads, which the rest of the claim takes: a target keeps its pace through a
        fan-out, and a claim rarely has less room than the batch it records.
        """
        await self._record_setbacks(tx, outcomes, instance)
        sent, told, finished = outcome_rows(outcomes)
        await self._record_sent(tx, sent, told)
        queues = sorted({(d.channel, d.target) for d in finished})
        if not queues:
            return []
        # Each queue's oldest unfinished delivery, now that those sent are finished.
        rows = await tx.fetch(
            f"SELECT {_DELIVERY_COLUMNS}, d.target_limit, d.state, d.next_attempt_at, d.head"
            f" FROM json_each(?) AS q JOIN deliveries d ON d.id = {_QUEUE_OLDEST}"
            " JOIN payloads p ON p.hash = d.payload_hash",
            json.dumps(queues),
        )
        # (A target with a window of its own waits for a claim that counts it.)
        ready = sorted(
            (
                row
                for row in rows
                if row[4] == channel and row[12] == "pending" and row[13] <= now and row[11] is None
            ),
            key=lambda row: (row[13], row[0]),
        )[: max(limit, 0)]
        chosen = {row[0] for row in ready}
        heads = [(row[0],) for row in rows if row[0] not in chosen and not row[14]]
        if heads:
            await tx.executemany("UPDATE deliveries SET head = TRUE WHERE id = ?", heads)
        if ready:
            await self._mark_claimed(tx, sorted(chosen), instance=instance, now=now, lease=lease)
        return [delivery_row(row, claimed=True) for row in ready]

    async def _take_back_leases(self, tx: Tx, channel: str, *, now: float, lease: float) -> None:
        """Make deliveries whose lease expired (their instance died) claimable again.

        Done every so often, not on every claim: finding them walks the unfinished queue,
        and a lease lasts much longer.
        """
        self._lease_check_at[channel] = now + min(LEASE_CHECK_EVERY, lease / 4)
        await tx.execute(
            "UPDATE deliveries SET state = 'pending', claimed_by = NULL,"
            " lease_until = NULL WHERE channel = ? AND state = 'sending'"
            " AND lease_until < ?",
            channel,
            now,
        )
        # Heads are kept with every change; should one ever be missed, its queue waits
        # this long, not forever.
        await tx.execute(
            "UPDATE deliveries SET head = TRUE WHERE NOT head AND id IN (SELECT min(q.id)"
            " FROM deliveries q WHERE q.channel = ? AND q.state IN ('pending', 'sending')"
            " GROUP BY q.target)",
            channel,
        )

    async def finish_deliveries(self, outcomes: Sequence[Outcome], *, instance: str) -> None:
        """Record what happened to claimed deliveries, and what each target now tells."""
        if not outcomes:
            return
        async with self._transaction(brief=True) as tx:
            channels = sorted({o.delivery.channel for o in outcomes})
            await self._lock_queues(tx, channels, exclusive=False)
            await self._record_outcomes(tx, outcomes, instance)

    async def _record_outcomes(self, tx: Tx, outcomes: Sequence[Outcome], instance: str) -> None:
        """What happened, written only over what it happened to.

        A message sent is known sent unless its delivery was finished meanwhile; a retry or
        a failure counts only while the delivery is still this instance's claim (its lease
        may have expired and another instance taken it over).
        """
        await self._record_setbacks(tx, outcomes, instance)
        await self._finish_sent(tx, *outcome_rows(outcomes))

    async def _record_setbacks(self, tx: Tx, outcomes: Sequence[Outcome], instance: str) -> None:
        """The retries and failures among `outcomes` (see _record_outcomes)."""
        retry = [o for o in outcomes if o.state is DeliveryState.PENDING]
        failed = [o for o in outcomes if o.state is DeliveryState.FAILED]
        if retry:
            await tx.executemany(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?,"
                " last_error = ?, claimed_by = NULL, lease_until = NULL WHERE id = ?"
                " AND state = 'sending' AND claimed_by = ?",
                [(o.retry_at, o.error, o.delivery.id, instance) for o in retry],
            )
        if failed:
            await tx.executemany(
                "UPDATE deliveries SET state = 'failed', last_error = ?, lease_until = NULL"
                " WHERE id = ? AND state = 'sending' AND claimed_by = ?",
                [(o.error, o.delivery.id, instance) for o in failed],
            )

    async def _finish_sent(
        self,
        tx: Tx,
        sent: Sequence[tuple[int, float | None]],
        told: Sequence[tuple[Any, ...]],
        finished: Sequence[Delivery],
    ) -> None:
        """Mark `sent` sent, write what each target now tells to the ledger, and hand each
        finished delivery's queue to the next delivery waiting in it."""
        await self._record_sent(tx, sent, told)
        await self._promote(tx, [(d.channel, d.target) for d in finished])

    async def _record_sent(
        self, tx: Tx, sent: Sequence[tuple[int, float | None]], told: Sequence[tuple[Any, ...]]
    ) -> None:
        if sent:
            await self._mark_sent(tx, sent)
            await self._write_ledger(tx, told)

    async def release_claims(self, *, instance: str | None = None) -> int:
        """Make deliveries claimed by `instance` (or by anyone) claimable again at once."""
        async with self._transaction() as tx:
            condition = "" if instance is None else " AND claimed_by = ?"
            args: list[Any] = [] if instance is None else [instance]
            rows = await tx.fetch(
                f"SELECT count(*) FROM deliveries WHERE state = 'sending'{condition}", *args
            )
            await tx.execute(
                "UPDATE deliveries SET state = 'pending', claimed_by = NULL, lease_until = NULL"
                f" WHERE state = 'sending'{condition}",
                *args,
            )
        return int(rows[0][0])

    async def next_attempt_at(self, channel: str) -> float | None:
        """When the earliest waiting delivery of `channel` becomes due (None: nothing waits)."""
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT min(next_attempt_at) FROM deliveries"
                " WHERE channel = ? AND head AND state = 'pending'",
                channel,
            )
        value = rows[0][0]
        return float(value) if value is not None else None

    async def prune_send_log(self, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        async with self._transaction() as tx:
            await tx.execute("DELETE FROM send_log WHERE at < ?", now - SEND_LOG_HORIZON)

    # Subscriptions ---------------------------------------------------------------------

    def _id_list(self, ids: Sequence[int]) -> tuple[str, Any]:
        """A subquery of `ids` taking one `?`, and its argument (PostgreSQL has arrays)."""
        return "SELECT value FROM json_each(?)", json.dumps(list(ids))

    async def subscribe(
        self,
        channel: str,
        address: str,
        *,
        places: Sequence[Place],
        locale: str,
        incident_ids: Sequence[str] = (),
        now: dt.datetime | None = None,
    ) -> Subscription:
        if not channel or not address:
            raise ValueError("a subscription needs a channel and an address")
        if not places and not incident_ids:
            raise ValueError(f"{channel} {address!r} subscribes to no place and no incident")
        created_at = (now or dt.datetime.now(dt.UTC)).timestamp()
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "INSERT INTO subscriptions (channel, address, locale, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (channel, address)"
                " DO UPDATE SET locale = excluded.locale RETURNING id",
                channel,
                address,
                locale,
                created_at,
            )
            id_ = int(rows[0][0])
            if places:
                await tx.executemany(
                    "INSERT INTO subscription_places (subscription_id, channel, place)"
                    " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [(id_, channel, str(place)) for place in sorted(set(places))],
                )
            if incident_ids:
                # (Asking again about an incident it was told of does not make it owed again:
                # a caller pressing 1 twice is called once.)
                await tx.executemany(
                    "INSERT INTO subscription_notices (subscription_id, incident_id, asked)"
                    " VALUES (?, ?, TRUE) ON CONFLICT (subscription_id, incident_id)"
                    " DO UPDATE SET asked = TRUE",
                    [(id_, incident_id) for incident_id in sorted(set(incident_ids))],
                )
            [subscription] = await self._subscriptions(tx, [id_])
        return subscription

    async def unsubscribe(self, channel: str, address: str, place: Place | None = None) -> int:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT id FROM subscriptions WHERE channel = ? AND address = ?", channel, address
            )
            if not rows:
                return 0
            id_ = int(rows[0][0])
            if place is None:
                removed = await tx.fetch(
                    "DELETE FROM subscription_places WHERE subscription_id = ? RETURNING 1", id_
                )
            else:
                removed = await tx.fetch(
                    "DELETE FROM subscription_places WHERE subscription_id = ? AND place = ?"
                    " RETURNING 1",
                    id_,
                    str(place),
                )
            # Left without places, it is gone, with the incidents it asked about: a caller
            # always asks from a postcode, and one who drops it wants no call either.
            if place is None or (
                removed
                and not await tx.fetch(
                    "SELECT 1 FROM subscription_places WHERE subscription_id = ? LIMIT 1", id_
                )
            ):
                await tx.execute("DELETE FROM subscriptions WHERE id = ?", id_)
        return len(removed)

    async def forget(self, channel: str, address: str) -> int:
        async with self._transaction() as tx:
            # Deleting a queue's unfinished deliveries changes its head, as enqueueing does.
            await self._lock_queues(tx, [channel], exclusive=True)
            deleted = 0
            for statement in (
                "DELETE FROM subscription_places WHERE subscription_id IN"
                " (SELECT id FROM subscriptions WHERE channel = ? AND address = ?) RETURNING 1",
                "DELETE FROM subscription_notices WHERE subscription_id IN"
                " (SELECT id FROM subscriptions WHERE channel = ? AND address = ?) RETURNING 1",
                "DELETE FROM subscriptions WHERE channel = ? AND address = ? RETURNING 1",
                "DELETE FROM chat_languages WHERE channel = ? AND address = ? RETURNING 1",
                # The queue index finds them (its condition spelt out for SQLite's planner),
                # the one being sent too: its outcome then finds nothing to mark.
                "DELETE FROM deliveries WHERE channel = ? AND target = ?"
                " AND state IN ('pending', 'sending') RETURNING 1",
                "DELETE FROM ledger WHERE channel = ? AND target = ? RETURNING 1",
                "DELETE FROM send_log WHERE channel = ? AND target = ? RETURNING 1",
            ):
                deleted += len(await tx.fetch(statement, channel, address))
        # The history of finished deliveries, which no index finds by target: a pass over
        # the outbox by ranges of ids, each its own transaction, so the queues are held
        # only briefly at a time however long the history (a finished delivery changes no
        # more, and later ones are no history of this chat).
        async with self._transaction(brief=True) as tx:
            newest = int((await tx.fetch("SELECT COALESCE(MAX(id), 0) FROM deliveries"))[0][0])
        for start in range(0, newest, FORGET_RANGE):
            async with self._transaction() as tx:
                rows = await tx.fetch(
                    "DELETE FROM deliveries WHERE id > ? AND id <= ? AND channel = ?"
                    " AND target = ? AND state IN ('sent', 'failed', 'superseded') RETURNING 1",
                    start,
                    start + FORGET_RANGE,
                    channel,
                    address,
                )
            deleted += len(rows)
            await asyncio.sleep(0)  # the queues' turn between ranges
        return deleted

    async def chosen_language(self, channel: str, address: str) -> str | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT locale FROM chat_languages WHERE channel = ? AND address = ?",
                channel,
                address,
            )
        return str(rows[0][0]) if rows else None

    async def choose_language(self, channel: str, address: str, locale: str | None) -> None:
        async with self._transaction(brief=True) as tx:
            if locale is None:
                await tx.execute(
                    "DELETE FROM chat_languages WHERE channel = ? AND address = ?",
                    channel,
                    address,
                )
                return
            await tx.execute(
                "INSERT INTO chat_languages (channel, address, locale) VALUES (?, ?, ?)"
                " ON CONFLICT (channel, address) DO UPDATE SET locale = excluded.locale",
                channel,
                address,
                locale,
            )

    async def subscriptions_of(self, channel: str, address: str) -> list[Subscription]:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT id FROM subscriptions WHERE channel = ? AND address = ?", channel, address
            )
            return await self._subscriptions(tx, [int(row[0]) for row in rows])

    async def subscribers_for(self, channel: str, places: Sequence[Place]) -> list[Subscription]:
        keys = sorted({str(place) for place in places})
        if not keys:
            return []
        async with self._transaction() as tx:
            rows = await tx.fetch(
                "SELECT DISTINCT subscription_id FROM subscription_places"
                f" WHERE channel = ? AND place IN ({', '.join('?' for _ in keys)})",
                channel,
                *keys,
            )
            return await self._subscriptions(tx, sorted(int(row[0]) for row in rows))

    async def subscription_counts(self) -> list[PlaceCount]:
        async with self._transaction() as tx:
            rows = await tx.fetch(
                "SELECT channel, place, count(*) FROM subscription_places"
                " GROUP BY channel, place ORDER BY channel, place"
            )
        return [PlaceCount(row[0], Place.parse(row[1]), int(row[2])) for row in rows]

    async def queue_notifications(
        self,
        channel: str,
        incident_id: str,
        *,
        revision: int,
        make: Callable[[Subscription], NewDelivery],
        places: Sequence[Place] = (),
        once: bool = False,
        chunk: int | None = None,
        queued: Callable[[int], object] | None = None,
    ) -> int:
        keys = sorted({str(place) for place in places})
        total, after, limit = 0, 0, chunk
        while True:
            async with self._transaction() as tx:
                owed = await self._owed(
                    tx, channel, incident_id, keys, revision, once=once, after=after, limit=limit
                )
                subscriptions = await self._tell(tx, incident_id, owed, revision, once=once)
                await self._enqueue(tx, [make(subscription) for subscription in subscriptions])
            total += len(subscriptions)
            if subscriptions and queued is not None:
                queued(len(subscriptions))
                # (Whoever that woke — the delivery engine — queues for the store before
                # the next chunk's transaction does.)
                await asyncio.sleep(0)
            if limit is None or chunk is None or len(owed) < limit:
                return total
            after = owed[-1]
            # Each transaction waits its turn behind the senders it woke: a few growing
            # chunks, not many small ones, and none holding the store for long.
            limit = min(limit * 2, chunk * LARGEST_CHUNK_TIMES)

    async def _owed(
        self,
        tx: Tx,
        channel: str,
        incident_id: str,
        keys: Sequence[str],
        revision: int,
        *,
        once: bool,
        after: int,
        limit: int | None,
    ) -> list[int]:
        """The subscriptions owed word of `incident_id` at `revision`, by id, after `after`
        (at most `limit`): listening to one of `keys` or asked about it by name, and not told
        of it at `revision` or later (`once`: ever)."""
        listening = (
            "SELECT p.subscription_id AS id FROM subscription_places p WHERE p.channel = ?"
            f" AND p.place IN ({', '.join('?' for _ in keys)}) AND p.subscription_id > ?"
            " UNION "
            if keys
            else ""
        )
        told = "t.revision IS NOT NULL" if once else "t.revision >= ?"
        rows = await tx.fetch(
            f"SELECT owed.id FROM ({listening}SELECT n.subscription_id AS id"
            " FROM subscription_notices n JOIN subscriptions s ON s.id = n.subscription_id"
            " WHERE n.incident_id = ? AND n.asked AND s.channel = ? AND n.subscription_id > ?"
            ") AS owed WHERE NOT EXISTS (SELECT 1 FROM subscription_notices t"
            f" WHERE t.subscription_id = owed.id AND t.incident_id = ? AND {told})"
            f" ORDER BY owed.id{'' if limit is None else ' LIMIT ?'}",
            *([channel, *keys, after] if keys else []),
            incident_id,
            channel,
            after,
            incident_id,
            *([] if once else [revision]),
            *([] if limit is None else [limit]),
        )
        return [int(row[0]) for row in rows]

    async def _tell(
        self, tx: Tx, incident_id: str, owed: Sequence[int], revision: int, *, once: bool
    ) -> list[Subscription]:
        """Mark the subscriptions `owed` told of `incident_id` at `revision`: those no other
        transaction marked meanwhile, which it answers (by id)."""
        if not owed:
            return []
        subquery, argument = self._id_list(owed)
        newer = "" if once else " OR subscription_notices.revision < excluded.revision"
        # One statement, an upsert of their notices in id order: a second transaction at the
        # same time (of this instance or another) waits for the rows the first one writes,
        # then finds them told. (The CASTs type the parameters for PostgreSQL.)
        rows = await tx.fetch(
            "INSERT INTO subscription_notices (subscription_id, incident_id, asked, revision)"
            " SELECT s.id, CAST(? AS TEXT), FALSE, CAST(? AS BIGINT) FROM subscriptions s"
            f" WHERE s.id IN ({subquery}) ORDER BY s.id"
            " ON CONFLICT (subscription_id, incident_id)"
            " DO UPDATE SET revision = excluded.revision"
            f" WHERE subscription_notices.revision IS NULL{newer}"
            " RETURNING subscription_id",
            incident_id,
            revision,
            argument,
        )
        ids = sorted(int(row[0]) for row in rows)
        if not ids:
            return []
        subquery, argument = self._id_list(ids)
        # Locked in id order before they change: two transactions telling the same
        # subscribers of two incidents wait for each other instead of deadlocking.
        await tx.execute(
            "UPDATE subscriptions SET last_notified_revision = ? WHERE id IN (SELECT id FROM"
            f" subscriptions WHERE id IN ({subquery}) ORDER BY id{self._FOR_UPDATE})"
            " AND (last_notified_revision IS NULL OR last_notified_revision < ?)",
            revision,
            argument,
            revision,
        )
        return await self._subscriptions(tx, ids)

    async def _subscriptions(self, tx: Tx, ids: Sequence[int]) -> list[Subscription]:
        """The subscriptions `ids`, by id, with their places and the incidents they asked
        about (and which of those they were told of)."""
        if not ids:
            return []
        subquery, argument = self._id_list(ids)
        rows = await tx.fetch(
            "SELECT id, channel, address, locale, created_at, last_notified_revision"
            f" FROM subscriptions WHERE id IN ({subquery}) ORDER BY id",
            argument,
        )
        places: dict[int, list[Place]] = {}
        for id_, place in await tx.fetch(
            f"SELECT subscription_id, place FROM subscription_places WHERE subscription_id IN"
            f" ({subquery})",
            argument,
        ):
            places.setdefault(int(id_), []).append(Place.parse(place))
        asked: dict[int, list[tuple[str, bool]]] = {}
        for id_, incident_id, told_revision in await tx.fetch(
            "SELECT subscription_id, incident_id, revision FROM subscription_notices"
            f" WHERE asked AND subscription_id IN ({subquery}) ORDER BY incident_id",
            argument,
        ):
            asked.setdefault(int(id_), []).append((incident_id, told_revision is not None))
        return [
            Subscription(
                id=int(row[0]),
                channel=row[1],
                address=row[2],
                places=tuple(sorted(places.get(int(row[0]), ()))),
                locale=row[3],
                created_at=dt.datetime.fromtimestamp(float(row[4]), dt.UTC),
                last_notified_revision=int(row[5]) if row[5] is not None else None,
                incident_ids=tuple(i for i, _ in asked.get(int(row[0]), ())),
                told_incident_ids=tuple(i for i, told in asked.get(int(row[0]), ()) if told),
            )
            for row in rows
        ]

    # Ledger and consistency ------------------------------------------------------------

    async def ledger(self, channel: str | None = None) -> list[LedgerEntry]:
        condition = "" if channel is None else " WHERE l.channel = ?"
        async with self._transaction() as tx:
            rows = await tx.fetch(
                "SELECT l.channel, l.target, l.incident_id, l.revision, l.fingerprint, l.status,"
                " p.body, l.delivered_at FROM ledger l JOIN payloads p ON p.hash = l.payload_hash"
                f"{condition} ORDER BY l.channel, l.target, l.incident_id",
                *([] if channel is None else [channel]),
            )
        return [
            LedgerEntry(r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6], float(r[7])) for r in rows
        ]

    async def channel_figures(self) -> list[ChannelFigures]:
        async with self._transaction() as tx:
            queue = await tx.fetch(
                "SELECT channel,"
                " sum(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END),"
                " min(CASE WHEN state IN ('pending', 'sending') THEN created_at END),"
                " min(CASE WHEN state IN ('pending', 'sending') THEN revision END),"
                " sum(CASE WHEN state = 'pending' AND last_error IS NOT NULL THEN 1 ELSE 0 END),"
                " count(DISTINCT target)"
                " FROM deliveries GROUP BY channel"
            )
            # A permanent failure counts until a later delivery to that target succeeds: the
            # ledger (one row per target and incident) tells, a key lookup per failure.
            failed = await tx.fetch(
                "SELECT d.channel, count(*), max(d.id) FROM deliveries d WHERE d.state = 'failed'"
                " AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.channel = d.channel"
                "   AND l.target = d.target AND l.incident_id = d.incident_id"
                "   AND (l.revision > d.revision OR l.delivered_at > d.claimed_at))"
                " GROUP BY d.channel"
            )
            errors = await tx.fetch(
                "SELECT channel, last_error FROM deliveries WHERE id IN ("
                " SELECT max(id) FROM deliveries WHERE last_error IS NOT NULL"
                " AND state IN ('pending', 'sending', 'failed') GROUP BY channel)"
            )
            ledger = await tx.fetch(
                "SELECT channel, max(delivered_at), min(revision) FROM ledger GROUP BY channel"
            )
        failed_by = {r[0]: int(r[1]) for r in failed}
        error_by = {r[0]: r[1] for r in errors}
        ledger_by = {r[0]: (r[1], r[2]) for r in ledger}
        figures = []
        for row in queue:
            channel = row[0]
            delivered, ledger_revision = ledger_by.get(channel, (None, None))
            figures.append(
                ChannelFigures(
                    channel=channel,
                    targets=int(row[5]),
                    pending=int(row[1] or 0),
                    oldest_pending_at=float(row[2]) if row[2] is not None else None,
                    oldest_pending_revision=int(row[3]) if row[3] is not None else None,
                    retrying=int(row[4] or 0),
                    failed=failed_by.get(channel, 0),
                    last_error=error_by.get(channel),
                    last_delivered_at=float(delivered) if delivered is not None else None,
                    ledger_revision=int(ledger_revision) if ledger_revision is not None else None,
                )
            )
        return figures

    async def delivery_counts(self) -> dict[str, int]:
        """How many deliveries are in each state (for tests, metrics and benchmarks)."""
        async with self._transaction() as tx:
            rows = await tx.fetch("SELECT state, count(*) FROM deliveries GROUP BY state")
        return {row[0]: int(row[1]) for row in rows}
