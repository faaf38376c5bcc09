"""Channels: one module per place Unavoz speaks (phone, web, X, staff, customers).

Each module declares its limits at the top and its renderer (pure: statement →
text); later issues add the delivery adapter beside it. Register a new channel
in `RENDERERS` below — nothing else needs to change.
"""

from __future__ import annotations

from channels.base import ChannelRenderer
from channels.customer import CustomerRenderer
from channels.ivr import IvrRenderer
from channels.staff import StaffRenderer
from channels.web import WebRenderer
from channels.x import XRenderer

RENDERERS: dict[str, ChannelRenderer] = {
    renderer.name: renderer
    for renderer in (IvrRenderer(), WebRenderer(), XRenderer(), StaffRenderer(), CustomerRenderer())
}

__all__ = ["RENDERERS", "ChannelRenderer"]
