"""Typed keys of the aiohttp application's state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.service import FeedService
from bot.settings import Settings

SERVICE = web.AppKey("service", FeedService)
SETTINGS = web.AppKey("settings", Settings)
CHANNELS: web.AppKey[tuple[str, ...]] = web.AppKey("channels")  # the delivering channels
# Each channel's details beyond the engine's figures (`Channel.details`), by channel name, and
# as lines of text.
DETAILS: web.AppKey[Callable[[], Awaitable[dict[str, tuple[dict[str, Any], list[str]]]]]] = (
    web.AppKey("details")
)
