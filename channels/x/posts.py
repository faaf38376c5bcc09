"""What the X channel posts (pure): each incident's thread per locale, and replies to people.

A post is the X renderer's words with a marker of the update it tells ("· #3 14:05"),
so that repeated updates differ — X refuses a post identical to one already made (403
duplicate content) — and a reader sees which update a post is. The renderer fits the
words to 280 characters less the marker's room, never cutting the ETA or the area.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot.channel import options_of
from bot.delivery.adapter import Target
from bot.feed.models import Incident, Status
from channels.x.options import XOptions
from channels.x.renderer import XRenderer, x_length

if TYPE_CHECKING:
    from bot.state import FeedState

MAX_LENGTH = 280
MARKER_ROOM = 16  # " · #12 14:05" and some spare
POST_PREFIX = "post:"


@lru_cache(maxsize=64)
def renderer_within(room: int) -> XRenderer:
    """The X renderer fitting its words into `room` weighted characters."""
    fitted = type("FittedXRenderer", (XRenderer,), {"max_length": room})
    return fitted()  # type: ignore[no-any-return]


def locales(state: FeedState) -> list[str]:
    """The locales X speaks: the feed's `channels.x.options.locales`, else the organization's."""
    wanted = options_of(state.feed, "x", XOptions).locales
    known = state.feed.organization.locales
    return [locale for locale in wanted if locale in known] or list(known)


def thread_of(locale: str, incident_id: str) -> str:
    return f"{POST_PREFIX}{locale}:{incident_id}"


def locale_of(thread: str) -> str | None:
    """`es` for `post:es:permits-down`; None for a reply's target."""
    if not thread.startswith(POST_PREFIX):
        return None
    return thread[len(POST_PREFIX) :].split(":", 1)[0]


def targets(state: FeedState, incident: Incident) -> list[Target]:
    return [Target(id=thread_of(locale, incident.id), locale=locale) for locale in locales(state)]


def marker(state: FeedState, incident: Incident, locale: str) -> str:
    """ "· #3 14:05": the update's number (the opening is #1) and its time, local."""
    statement = state.statement(incident.id, locale)
    at = statement.updated_at.astimezone(state.feed.organization.tz)
    return f"· #{len(incident.updates) + 1} {at:%H:%M}"


def post_text(state: FeedState, incident: Incident, locale: str, now: dt.datetime) -> str:
    tag = marker(state, incident, locale)
    overrides = state.feed.channels.get("x").templates
    words = renderer_within(MAX_LENGTH - MARKER_ROOM).render(
        state.statement(incident.id, locale), now, overrides
    )
    return f"{words} {tag}"


@dataclass(frozen=True, slots=True)
class Payload:
    """What one X delivery sends: a post of a thread, or a reply to a person's post."""

    text: str
    in_reply_to: str | None = None  # a mention answered; a thread's post answers its tip
    priority: bool = False  # goes out when little of the daily limit is left

    def dumps(self) -> str:
        body: dict[str, Any] = {"text": self.text, "priority": self.priority}
        if self.in_reply_to is not None:
            body["in_reply_to"] = self.in_reply_to
        return json.dumps(body, ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, raw: str) -> Payload:
        body = json.loads(raw)
        return cls(str(body["text"]), body.get("in_reply_to"), bool(body.get("priority")))


def payload(state: FeedState, incident: Incident, target: Target, now: dt.datetime) -> str:
    locale = target.locale or state.feed.organization.default_locale
    text = post_text(state, incident, locale, now)
    assert x_length(text) <= MAX_LENGTH, text
    # A resolution (or the end of a maintenance) always goes; an opening is known as such
    # when it is sent (its thread has no post yet).
    return Payload(text, priority=incident.status is Status.RESOLVED).dumps()
