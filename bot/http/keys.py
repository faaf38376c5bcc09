"""Typed keys of the aiohttp application's state."""

from __future__ import annotations

from aiohttp import web

from bot.service import FeedService
from bot.settings import Settings

SERVICE = web.AppKey("service", FeedService)
SETTINGS = web.AppKey("settings", Settings)
CHANNELS: web.AppKey[tuple[str, ...]] = web.AppKey("channels")  # the delivering channels
