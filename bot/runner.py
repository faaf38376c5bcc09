"""`unavoz run`: open the store, load the feed, watch it, deliver, serve HTTP until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.channel import ChannelContext
from bot.clock import Clock, start_clock
from bot.delivery.adapter import ChannelAdapter
from bot.delivery.engine import DeliveryEngine
from bot.delivery.plan import Planner
from bot.feed.loader import load_feed
from bot.feed.yamlsource import FeedError
from bot.http.app import create_app
from bot.jobs import schedule_core_jobs
from bot.listeners import Listeners
from bot.registry import Registry, default_registry
from bot.runtime import settle_heap
from bot.scheduler import Scheduler
from bot.service import FeedService
from bot.settings import Settings
from bot.state import FeedState
from bot.store import Store, open_store
from bot.store.postgres import PostgresStore
from bot.tasks import settle
from bot.timekeeper import Timekeeper
from bot.watcher import watch_feed

log = logging.getLogger("unavoz")
STOP_GRACE = 15.0  # seconds in-flight deliveries get to finish when told to stop


def announce_channels(settings: Settings, registry: Registry) -> list[str]:
    """One line per channel for the start-up log: on, or off and why."""
    return [f"{channel.title}: {channel.state(settings)}" for channel in registry.channels]


def settle_heap_once_loaded(service: FeedService) -> None:
    """Settle the heap (`settle_heap`) when the feed's first revision is told, not before:
    its objects — the incidents and places later revisions keep (a change validates and
    rebuilds only what it touched) — are then frozen with start-up's, so full collections
    no longer walk a feed of thousands of incidents (~0.2 s each at 5,000 in
    bench/edges.py, the worst edge's lateness when one fell inside it)."""

    async def settle(_: FeedState) -> None:
        settle_heap()  # only the first call freezes

    service.subscribe(settle)


def build_adapters(settings: Settings, registry: Registry) -> list[ChannelAdapter]:
    """The delivering channels of this deployment (not started: planning needs no I/O)."""
    adapters = [channel.adapter(settings) for channel in registry.channels]
    return [adapter for adapter in adapters if adapter is not None]


@dataclass
class Unavoz:
    """Everything `unavoz run` runs, wired together (tests build it the same way)."""

    settings: Settings
    store: Store
    registry: Registry
    adapters: list[ChannelAdapter]
    service: FeedService
    engine: DeliveryEngine
    scheduler: Scheduler
    context: ChannelContext
    listeners: Listeners
    timekeeper: Timekeeper

    @classmethod
    def build(
        cls,
        settings: Settings,
        store: Store,
        *,
        instance: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        registry: Registry | None = None,
    ) -> Unavoz:
        registry = registry or default_registry()
        adapters = build_adapters(settings, registry)
        clock = clock or Clock()
        service = FeedService(
            settings.feed,
            store,
            # The planner words what it queues at the same "now" as everything else (the
            # X posts and webhooks of a demo at UNAVOZ_NOW say "today at 18:00").
            planner=Planner(adapters, clock=clock),
            clock=clock,
            registry=registry,
        )
        postgres = isinstance(store, PostgresStore)
        # With several instances a dead one's claims wait out their lease; keep it short.
        engine = DeliveryEngine(
            store, adapters, instance=instance, lease=10.0 if postgres else 30.0, shared=postgres
        )
        scheduler = Scheduler(postgres_url=settings.database_url if postgres else None)
        context = ChannelContext(settings, store, service, service.clock, adapters, engine.wake)
        schedule_core_jobs(scheduler, service, [a.name for a in adapters])
        timekeeper = Timekeeper(service)
        timekeeper.schedule(scheduler)
        for channel in registry.channels:
            channel.setup(context, scheduler)
        listeners = Listeners(adapters, context.dispatcher)
        scheduler.on_role(listeners.on_role)
        return cls(
            settings,
            store,
            registry,
            adapters,
            service,
            engine,
            scheduler,
            context,
            listeners,
            timekeeper,
        )

    def http_app(self) -> web.Application:
        return create_app(
            self.service,
            self.settings,
            adapters=self.adapters,
            registry=self.registry,
            context=self.context,
        )

    async def run(self, stop: asyncio.Event) -> None:
        if isinstance(self.store, PostgresStore):
            await self.store.listen(lambda _: self._heard())
        else:
            # One instance per SQLite file: whatever was in flight died with the last process.
            released = await self.store.release_claims()
            if released:
                log.info("%d deliveries interrupted by the last stop will be sent again", released)

        async def wake(_: object) -> None:
            self.engine.wake()

        self.service.subscribe(wake)
        state = await self.service.start()
        log.info("telling revision %d of %s", state.revision.number, self.settings.feed)
        async with contextlib.AsyncExitStack() as stack:
            for adapter in self.adapters:
                await stack.enter_async_context(adapter)
            tasks = [
                asyncio.create_task(watch_feed(self.service, stop), name="feed-watcher"),
                asyncio.create_task(self.engine.run(stop), name="delivery"),
                asyncio.create_task(self.scheduler.run(stop), name="scheduler"),
                asyncio.create_task(self.listeners.run(stop), name="listeners"),
            ]
            try:
                await stop.wait()
            finally:
                # Deliveries in flight finish and are recorded, so a stop resends nothing.
                await settle(tasks, grace=STOP_GRACE)

    def _heard(self) -> None:
        """Another instance recorded a revision or queued work."""
        self.engine.wake()
        asyncio.get_running_loop().create_task(self._sync())

    async def _sync(self) -> None:
        try:
            await self.service.sync_from_store()
        except Exception:
            log.exception("could not adopt the revision another instance recorded")


def _zone_of(settings: Settings) -> dt.tzinfo:
    try:
        return load_feed(settings.feed).feed.organization.tz
    except FeedError:
        return dt.UTC


async def run_server(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async with open_store(settings.database_url) as store:
        app = Unavoz.build(settings, store, clock=start_clock(settings.now, _zone_of(settings)))
        if settings.now:
            log.info("the clock starts at %s (UNAVOZ_NOW / --at)", app.service.clock().isoformat())
        for line in announce_channels(settings, app.registry):
            log.info(line)
        if not settings.admin_token:
            log.info("admin API and console: off (UNAVOZ_ADMIN_TOKEN not set)")

        async def serve() -> None:
            runner = web.AppRunner(app.http_app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, settings.host, settings.port).start()
            log.info("listening on http://%s:%d", settings.host, settings.port)
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

        settle_heap_once_loaded(app.service)
        await asyncio.gather(app.run(stop), serve())
        log.info("stopped")
