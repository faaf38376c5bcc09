"""Web: the banner's short text (with a link to the status page) embedded on websites."""

from __future__ import annotations

from typing import ClassVar

from channels.base import ChannelRenderer


class WebRenderer(ChannelRenderer):
    name: ClassVar[str] = "web"
    # A banner is read at a glance, on a phone too: two or three short lines.
    single_line: ClassVar[bool] = True
    max_length: ClassVar[int] = 320
