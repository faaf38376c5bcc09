"""Customer replies (Telegram bot, and the drafts community managers send): the full answer."""

from __future__ import annotations

from typing import ClassVar

from bot.render.renderer import ChannelRenderer


class CustomerRenderer(ChannelRenderer):
    name: ClassVar[str] = "customer"
    templates_package: ClassVar[str] = "channels.telegram"
    # Telegram allows 4096; a reply a person reads on a phone should be far shorter.
    max_length: ClassVar[int] = 1200
