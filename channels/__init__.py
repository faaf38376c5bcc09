"""Channels: one module per place Unavoz speaks (phone, web, X, staff, customers).

Each module declares its limits at the top and its renderer (pure: statement →
text); later issues add the delivery adapter beside it. Register a new channel
in `RENDERERS` below — nothing else needs to change.
"""

from __future__ import annotations

from bot.delivery.model import Limit
from channels.adapter import ChannelAdapter
from channels.base import ChannelRenderer
from channels.customer import CustomerRenderer
from channels.ivr import IvrRenderer
from channels.staff import StaffRenderer
from channels.web import WebRenderer
from channels.webhook import WebhookChannel
from channels.x import XRenderer

RENDERERS: dict[str, ChannelRenderer] = {
    renderer.name: renderer
    for renderer in (IvrRenderer(), WebRenderer(), XRenderer(), StaffRenderer(), CustomerRenderer())
}


def parse_rate(text: str | None) -> tuple[Limit, ...]:
    """ "50/1" → at most 50 per second; "100/900" → 100 per 15 minutes; empty → no ceiling."""
    if not text:
        return ()
    count, _, seconds = text.partition("/")
    try:
        return (Limit(int(count), float(seconds or 1)),)
    except ValueError:
        raise ValueError(f"a rate looks like 50/1 (50 per second), not {text!r}") from None


def build_adapters(*, webhook_rate: str | None = None) -> list[ChannelAdapter]:
    """The delivering channels of this deployment (not started: planning needs no I/O)."""
    return [WebhookChannel(limits=parse_rate(webhook_rate))]


__all__ = ["RENDERERS", "ChannelAdapter", "ChannelRenderer", "build_adapters", "parse_rate"]
