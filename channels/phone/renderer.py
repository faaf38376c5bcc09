"""Phone (IVR): the script a caller hears — short sentences, times said as times, no URLs."""

from __future__ import annotations

from typing import ClassVar

from bot.render.engine import speakable
from bot.render.renderer import ChannelRenderer


class IvrRenderer(ChannelRenderer):
    name: ClassVar[str] = "ivr"
    templates_package: ClassVar[str] = "channels.phone"
    # About 45 seconds of speech at ~15 characters a second: callers should not wait longer.
    single_line: ClassVar[bool] = True
    max_length: ClassVar[int] = 700

    def clean(self, text: str, locale: str) -> str:
        return speakable(text, locale)
