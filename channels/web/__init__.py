"""The web: the embeddable banner, the status page, Atom, Statuspage-shaped JSON, live events."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel

from bot.channel import Channel, ChannelContext
from bot.render.renderer import ChannelRenderer
from bot.scheduler import Scheduler
from bot.settings import EnvSection, Settings
from bot.state import FeedState
from channels.web import routes
from channels.web.export import export_static
from channels.web.options import WebOptions, WebSettings
from channels.web.renderer import WebRenderer

EXPORT_EVERY = 60.0  # seconds between rewrites of the static export without a new revision


class WebChannel(Channel):
    name: ClassVar[str] = "web"
    title: ClassVar[str] = "web (banner, status page, feeds)"
    description: ClassVar[str] = "The banner, the status page and the public JSON and feeds."
    renderer: ClassVar[ChannelRenderer | None] = WebRenderer()
    options_model: ClassVar[type[BaseModel]] = WebOptions
    settings_model: ClassVar[type[EnvSection] | None] = WebSettings

    def state(self, settings: Settings) -> str:
        directory = settings.section(self.name, WebSettings).export_static
        return f"on (static export in {directory})" if directory else "on"

    def setup_http(self, app: web.Application, context: ChannelContext) -> None:
        routes.setup(app)

    def export_static(self, state: FeedState, directory: Path, now: dt.datetime) -> list[Path]:
        return export_static(state, directory, now)

    def setup(self, context: ChannelContext, scheduler: Scheduler) -> None:
        directory = context.settings.section(self.name, WebSettings).export_static
        if not directory:
            return
        service = context.service

        async def write() -> None:
            if service.has_state:
                await asyncio.to_thread(export_static, service.state, directory, service.clock())

        # Every instance keeps its own copy; rewritten on each revision and each minute
        # ("today at…" moves on).
        scheduler.every(EXPORT_EVERY, write, id="web-static-export", leader_only=False)

        async def on_revision(_: FeedState) -> None:
            scheduler.run_soon("web-static-export")

        service.subscribe(on_revision)
