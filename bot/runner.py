"""`unavoz run`: open the store, load the feed, watch it, serve HTTP until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from aiohttp import web

from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings
from bot.store import open_store
from bot.watcher import watch_feed

log = logging.getLogger("unavoz")

# Delivery adapters arrive channel by channel; until then each says why it is quiet.
_CREDENTIALS = {
    "staff alerts (Telegram)": ("TELEGRAM_STAFF_TOKEN",),
    "customer bot (Telegram)": ("TELEGRAM_CUSTOMER_TOKEN",),
    "X": ("X_BEARER_TOKEN", "X_CONSUMER_KEY", "X_ACCESS_TOKEN"),
    "phone callbacks (Twilio)": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
}


def announce_channels(environ: dict[str, str]) -> list[str]:
    lines = []
    for channel, names in _CREDENTIALS.items():
        missing = [n for n in names if not environ.get(n)]
        if missing:
            lines.append(f"{channel}: off ({', '.join(missing)} not set)")
        else:
            lines.append(f"{channel}: credentials found; no delivery adapter in this version yet")
    return lines


async def run_server(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async with open_store(settings.database_url) as store:
        service = FeedService(settings.feed, store)
        state = await service.start()
        log.info("telling revision %d of %s", state.revision.number, settings.feed)
        for line in announce_channels(dict(os.environ)):
            log.info(line)
        if not settings.admin_token:
            log.info("admin API: off (UNAVOZ_ADMIN_TOKEN not set)")

        runner = web.AppRunner(create_app(service, settings), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info("listening on http://%s:%d", settings.host, settings.port)
        watcher = asyncio.create_task(watch_feed(service, stop), name="feed-watcher")
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await runner.cleanup()
