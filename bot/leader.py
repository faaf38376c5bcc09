"""The scheduler role: one instance at a time runs the periodic jobs (audit, deadlines, pruning).

With PostgreSQL the role is a session advisory lock: when its holder dies, its
connection closes, PostgreSQL releases the lock, and another instance takes the
role at its next try (every `retry` seconds). With SQLite there is one instance,
and it always holds the role.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot import metrics
from bot.delivery import consistency
from bot.feed.models import Status
from bot.service import FeedService

log = logging.getLogger(__name__)

ROLE_LOCK = 0x756E61766F7A10


class SchedulerRole:
    def __init__(
        self,
        service: FeedService,
        channels: Sequence[str],
        *,
        postgres_url: str | None = None,
        retry: float = 1.0,
        audit_every: float = 30.0,
        max_lag: float = 300.0,
    ) -> None:
        self.service = service
        self.channels = list(channels)
        self.postgres_url = postgres_url
        self.retry = retry
        self.audit_every = audit_every
        self.max_lag = max_lag
        self.is_leader = False
        self.on_change: Callable[[bool], Awaitable[None]] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        if self.postgres_url is None:
            await self._lead_until(stop, lost=asyncio.Event())
            return
        while not stop.is_set():
            connection = await self._try_take()
            if connection is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry)
                continue
            lost = asyncio.Event()
            watch = asyncio.create_task(self._watch(connection, lost, stop))
            try:
                await self._lead_until(stop, lost)
            finally:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
                with contextlib.suppress(Exception):
                    await connection.close()

    async def _try_take(self) -> asyncpg.Connection | None:
        assert self.postgres_url is not None
        try:
            connection = await asyncpg.connect(self.postgres_url)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("cannot reach PostgreSQL for the scheduler role: %s", exc)
            return None
        if await connection.fetchval("SELECT pg_try_advisory_lock($1)", ROLE_LOCK):
            return connection
        await connection.close()
        return None

    async def _watch(
        self, connection: asyncpg.Connection, lost: asyncio.Event, stop: asyncio.Event
    ) -> None:
        """The role lasts as long as the connection that holds the lock."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), self.retry * 2)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.error("lost the connection holding the scheduler role")
                lost.set()
                return
            await asyncio.sleep(self.retry)

    async def _lead_until(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        scheduler.add_job(
            self.audit,
            "interval",
            seconds=self.audit_every,
            id="audit",
            next_run_time=dt.datetime.now(dt.UTC),
        )
        scheduler.add_job(
            self.deadlines,
            "interval",
            seconds=60,
            id="deadlines",
            next_run_time=dt.datetime.now(dt.UTC),
        )
        scheduler.add_job(self.service.store.prune_send_log, "interval", minutes=10, id="prune")
        scheduler.start()
        await self._set_leader(True)
        log.info("this instance holds the scheduler role")
        try:
            stopping = asyncio.create_task(stop.wait())
            losing = asyncio.create_task(lost.wait())
            await asyncio.wait({stopping, losing}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            losing.cancel()
        finally:
            scheduler.shutdown(wait=False)
            await self._set_leader(False)

    async def _set_leader(self, value: bool) -> None:
        self.is_leader = value
        metrics.SCHEDULER_ROLE.set(1 if value else 0)
        if self.on_change is not None:
            await self.on_change(value)

    async def audit(self) -> None:
        revision, channels = await consistency.check(self.service.store, self.channels)
        for channel in channels:
            for state in (consistency.IN_SYNC, consistency.LAGGING, consistency.FAILING):
                metrics.CHANNEL_STATE.labels(channel.channel, state).set(
                    1 if channel.state == state else 0
                )
            if channel.state == consistency.FAILING:
                log.error("channel %s is failing: %s", channel.channel, channel.last_error)
            elif (
                channel.state == consistency.LAGGING
                and channel.lag_seconds(dt.datetime.now(dt.UTC).timestamp()) > self.max_lag
            ):
                log.warning(
                    "channel %s lags %d revisions behind %d",
                    channel.channel,
                    channel.behind_revisions,
                    revision,
                )

    async def deadlines(self) -> None:
        """Customers were promised an update or a fix by a time: say loudly when it passed."""
        if not self.service.has_state:
            return
        now = self.service.clock()
        overdue = 0
        for incident in self.service.state.feed.incidents:
            if incident.status is Status.RESOLVED:
                continue
            if incident.next_update_by is not None and incident.next_update_by < now:
                overdue += 1
                log.warning(
                    "incident %s: the next update was due at %s",
                    incident.id,
                    incident.next_update_by.isoformat(),
                )
            if incident.eta is not None and incident.eta < now:
                log.warning(
                    "incident %s: its ETA (%s) has passed without resolution",
                    incident.id,
                    incident.eta.isoformat(),
                )
        metrics.OVERDUE_UPDATES.set(overdue)
