"""Staff alerts (Telegram): what field staff must know and do, with the internal instructions."""

from __future__ import annotations

from typing import ClassVar

from bot.render.renderer import ChannelRenderer


class StaffRenderer(ChannelRenderer):
    name: ClassVar[str] = "staff"
    templates_package: ClassVar[str] = "channels.telegram"
    max_length: ClassVar[int] = 4096  # Telegram's limit for one message
    internal: ClassVar[bool] = True
