"""The one scheduler: every periodic or timed job of a running Unavoz is a job here.

A job is either **every-instance** (writing this instance's own files, say) or
**leader-only** (anything that must happen once however many instances run:
callbacks, audits, pruning, listeners that must be unique). Leader-only jobs run
on the instance holding the scheduler role. With PostgreSQL the role is a session
advisory lock: when its holder dies, its connection closes, PostgreSQL releases
the lock, and another instance takes the role at its next try (every `retry`
seconds). With SQLite there is one instance, and it always holds the role.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot import metrics

log = logging.getLogger(__name__)

ROLE_LOCK = 0x756E61766F7A10
Job = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class JobSpec:
    id: str
    run: Job
    every: float  # seconds between runs
    leader_only: bool
    at_start: bool  # run once as soon as the job is scheduled, then every `every`


class Scheduler:
    def __init__(self, *, postgres_url: str | None = None, retry: float = 1.0) -> None:
        self.postgres_url = postgres_url
        self.retry = retry
        self.is_leader = False
        self._jobs: dict[str, JobSpec] = {}
        self._aps: AsyncIOScheduler | None = None
        self._role_listeners: list[Callable[[bool], Awaitable[None]]] = []

    # Declaring jobs ----------------------------------------------------------------------

    def every(
        self,
        seconds: float,
        run: Job,
        *,
        id: str,
        leader_only: bool = True,
        at_start: bool = True,
    ) -> None:
        """Run `run` every `seconds` (on the role holder only, unless `leader_only=False`)."""
        if id in self._jobs:
            raise ValueError(f"a job {id!r} is already scheduled")
        spec = JobSpec(id, run, seconds, leader_only, at_start)
        self._jobs[id] = spec
        if self._aps is not None and (not leader_only or self.is_leader):
            self._add(spec)

    def run_soon(self, id: str) -> None:
        """Run job `id` now rather than at its next time (if it runs on this instance)."""
        if self._aps is not None and self._aps.get_job(id) is not None:
            self._aps.modify_job(id, next_run_time=dt.datetime.now(dt.UTC))

    def on_role(self, listener: Callable[[bool], Awaitable[None]]) -> None:
        """Be told when this instance takes or loses the scheduler role."""
        self._role_listeners.append(listener)

    @property
    def job_ids(self) -> list[str]:
        return sorted(self._jobs)

    def _add(self, spec: JobSpec) -> None:
        assert self._aps is not None
        self._aps.add_job(
            _logged(spec),
            "interval",
            seconds=spec.every,
            id=spec.id,
            name=spec.id,
            next_run_time=dt.datetime.now(dt.UTC) if spec.at_start else None,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    # Running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._aps = AsyncIOScheduler(timezone=dt.UTC)
        for spec in self._jobs.values():
            if not spec.leader_only:
                self._add(spec)
        self._aps.start()
        try:
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
        finally:
            self._aps.shutdown(wait=False)
            self._aps = None

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
        assert self._aps is not None
        leading = [spec for spec in self._jobs.values() if spec.leader_only]
        for spec in leading:
            self._add(spec)
        await self._set_leader(True)
        log.info("this instance holds the scheduler role")
        try:
            stopping = asyncio.create_task(stop.wait())
            losing = asyncio.create_task(lost.wait())
            await asyncio.wait({stopping, losing}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            losing.cancel()
        finally:
            for spec in self._jobs.values():
                if spec.leader_only and self._aps.get_job(spec.id) is not None:
                    self._aps.remove_job(spec.id)
            await self._set_leader(False)

    async def _set_leader(self, value: bool) -> None:
        self.is_leader = value
        metrics.SCHEDULER_ROLE.set(1 if value else 0)
        for listener in self._role_listeners:
            try:
                await listener(value)
            except Exception:
                log.exception("a listener of the scheduler role failed")


def _logged(spec: JobSpec) -> Job:
    """A job whose failure is logged and retried at its next time, never fatal."""

    async def run() -> None:
        try:
            await spec.run()
        except Exception:
            log.exception("job %s failed; it runs again in %g s", spec.id, spec.every)

    return run
