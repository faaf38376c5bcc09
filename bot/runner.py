"""`unavoz run`: open the store, load the feed, watch it, deliver, serve HTTP until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.clock import Clock, start_clock
from bot.delivery.engine import DeliveryEngine
from bot.delivery.plan import Planner
from bot.feed.loader import load_feed
from bot.feed.yamlsource import FeedError
from bot.http.app import create_app
from bot.leader import SchedulerRole
from bot.phone.callbacks import PhoneCallbacks, queue_due
from bot.phone.prompts import write_prompts
from bot.runtime import settle_heap
from bot.service import FeedService
from bot.settings import Settings
from bot.state import FeedState
from bot.store import Store, open_store
from bot.store.postgres import PostgresStore
from bot.tasks import first_of, settle
from bot.watcher import watch_feed
from bot.web.export import export_static
from channels import ChannelAdapter, build_adapters

log = logging.getLogger("unavoz")
STOP_GRACE = 15.0  # seconds in-flight deliveries get to finish when told to stop
EXPORT_EVERY = 60.0  # seconds between rewrites of the static export without a new revision

# Channels whose delivery adapters are still to come: each says why it is quiet.
_CREDENTIALS = {
    "staff alerts (Telegram)": ("TELEGRAM_STAFF_TOKEN",),
    "customer bot (Telegram)": ("TELEGRAM_CUSTOMER_TOKEN",),
    "X": ("X_BEARER_TOKEN", "X_CONSUMER_KEY", "X_ACCESS_TOKEN"),
}
# Channels delivered in this version, and what turns them on.
_DELIVERED = {
    "phone callbacks (Twilio)": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"),
}
CALLBACK_CHECK_EVERY = 30.0  # seconds between checks for ETAs that passed


def announce_channels(environ: dict[str, str]) -> list[str]:
    lines = []
    for channel, names in _CREDENTIALS.items():
        missing = [n for n in names if not environ.get(n)]
        if missing:
            lines.append(f"{channel}: off ({', '.join(missing)} not set)")
        else:
            lines.append(f"{channel}: credentials found; no delivery adapter in this version yet")
    for channel, names in _DELIVERED.items():
        missing = [n for n in names if not environ.get(n)]
        lines.append(
            f"{channel}: off ({', '.join(missing)} not set)" if missing else f"{channel}: on"
        )
    return lines


@dataclass
class Unavoz:
    """Everything `unavoz run` runs, wired together (tests build it the same way)."""

    settings: Settings
    store: Store
    adapters: list[ChannelAdapter]
    service: FeedService
    engine: DeliveryEngine
    role: SchedulerRole

    @classmethod
    def build(
        cls,
        settings: Settings,
        store: Store,
        *,
        instance: str | None = None,
        clock: Clock | None = None,
    ) -> Unavoz:
        adapters = build_adapters(webhook_rate=settings.webhook_rate)
        phone = PhoneCallbacks.from_env()
        if phone is not None:
            adapters.append(phone)
        service = FeedService(
            settings.feed, store, planner=Planner(adapters), clock=clock or Clock()
        )
        postgres = isinstance(store, PostgresStore)
        # With several instances a dead one's claims wait out their lease; keep it short.
        engine = DeliveryEngine(
            store, adapters, instance=instance, lease=10.0 if postgres else 30.0, shared=postgres
        )
        role = SchedulerRole(
            service,
            [a.name for a in adapters],
            postgres_url=settings.database_url if postgres else None,
        )
        return cls(settings, store, adapters, service, engine, role)

    async def run(self, stop: asyncio.Event) -> None:
        if isinstance(self.store, PostgresStore):
            await self.store.listen(lambda _: self._heard())
        else:
            # One instance per SQLite file: whatever was in flight died with the last process.
            released = await self.store.release_claims()
            if released:
                log.info("%d deliveries interrupted by the last stop will be sent again", released)

        async def wake(state: FeedState) -> None:
            if self.calls_back:
                await queue_due(self.store, state, self.service.clock())
            self.engine.wake()

        self.service.subscribe(wake)
        state = await self.service.start()
        log.info("telling revision %d of %s", state.revision.number, self.settings.feed)
        async with contextlib.AsyncExitStack() as stack:
            for adapter in self.adapters:
                await stack.enter_async_context(adapter)
            tasks = [
                asyncio.create_task(watch_feed(self.service, stop), name="feed-watcher"),
                *self._writers(stop),
                asyncio.create_task(self.engine.run(stop), name="delivery"),
                asyncio.create_task(self.role.run(stop), name="scheduler-role"),
            ]
            try:
                await stop.wait()
            finally:
                # Deliveries in flight finish and are recorded, so a stop resends nothing.
                await settle(tasks, grace=STOP_GRACE)

    async def _keep_written(
        self, name: str, write: Callable[[FeedState, dt.datetime], object], stop: asyncio.Event
    ) -> None:
        """Rewrite files on every revision, and each minute ("today" moves on)."""
        changed = asyncio.Event()

        async def on_revision(_: FeedState) -> None:
            changed.set()

        self.service.subscribe(on_revision)
        while not stop.is_set():
            changed.clear()
            try:
                await asyncio.to_thread(write, self.service.state, self.service.clock())
            except (OSError, RuntimeError, subprocess.SubprocessError):
                log.exception("could not write the %s", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_of(changed, stop), EXPORT_EVERY)

    @property
    def calls_back(self) -> bool:
        return any(isinstance(a, PhoneCallbacks) for a in self.adapters)

    async def _keep_calling_back(self, stop: asyncio.Event) -> None:
        """An ETA passes without a revision: its callers are owed their call all the same."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CALLBACK_CHECK_EVERY)
            if self.service.has_state and not stop.is_set():
                try:
                    if await queue_due(self.store, self.service.state, self.service.clock()):
                        self.engine.wake()
                except Exception:
                    log.exception("could not queue the callbacks now due")

    def _writers(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        tasks = []
        if self.calls_back:
            tasks.append(asyncio.create_task(self._keep_calling_back(stop), name="callbacks"))
        if self.settings.export_static:
            directory = self.settings.export_static
            tasks.append(
                asyncio.create_task(
                    self._keep_written(
                        "static export", lambda s, now: export_static(s, directory, now), stop
                    ),
                    name="static-export",
                )
            )
        if self.settings.prompts_dir:
            prompts = self.settings.prompts_dir
            tasks.append(
                asyncio.create_task(
                    self._keep_written(
                        "phone prompts", lambda s, now: write_prompts(s, prompts, now), stop
                    ),
                    name="phone-prompts",
                )
            )
        return tasks

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
        for line in announce_channels(dict(os.environ)):
            log.info(line)
        if not settings.admin_token:
            log.info("admin API: off (UNAVOZ_ADMIN_TOKEN not set)")

        async def serve() -> None:
            runner = web.AppRunner(
                create_app(
                    app.service,
                    settings,
                    channels=[a.name for a in app.adapters],
                    phone_callbacks=app.calls_back,
                ),
                access_log=None,
            )
            await runner.setup()
            await web.TCPSite(runner, settings.host, settings.port).start()
            log.info("listening on http://%s:%d", settings.host, settings.port)
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

        settle_heap()
        await asyncio.gather(app.run(stop), serve())
        log.info("stopped")
