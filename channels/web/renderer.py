"""Web: the banner's short text (with a link to the status page) embedded on websites."""

from __future__ import annotations

from typing import ClassVar

from bot.render.renderer import ChannelRenderer


class WebRenderer(ChannelRenderer):
    name: ClassVar[str] = "web"
    templates_package: ClassVar[str] = "channels.web"
    # A banner is read at a glance, on a phone too: two or three short lines.
    single_line: ClassVar[bool] = True
    max_length: ClassVar[int] = 320
