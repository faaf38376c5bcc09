"""What people send Unavoz, as typed events, whatever the channel they used.

A channel that receives (the phone line, the Telegram bots, X mentions) turns what
arrives into one of these events and hands it to `dispatch`; channel-neutral
services (the conversation, the operators' commands) answer it. Answers go out
through the outbox like every other delivery: same limits, same idempotency, same
ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Person:
    """Who sent it, as the channel knows them (never more than the channel told us)."""

    id: str  # the channel's own id: a Telegram user id, an X user id, a caller's number
    name: str | None = None
    locale: str | None = None  # the language their app or account says, if any


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # the channel's name ("customer", "staff", "x", "ivr")
    conversation: str  # where an answer goes: a chat id, a post id to reply to, a call
    person: Person
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class TextMessage(Inbound):
    """Words a person typed (a command is text that starts with "/")."""

    text: str
    # The channel's id of the message, where it has one: an answer keyed by it is sent once
    # however often the message is read (a poller restarting, a webhook retried).
    message_id: str | None = None

    @property
    def command(self) -> tuple[str, str] | None:
        """("subscribe", "28012") for "/subscribe 28012"; None when it is not a command."""
        if not self.text.startswith("/"):
            return None
        head, _, rest = self.text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()  # "/start@UnavozBot" in a group
        return (name, rest.strip()) if name else None


@dataclass(frozen=True, slots=True)
class ButtonPressed(Inbound):
    """A button under one of our messages (Telegram's callback query)."""

    data: str
    message_id: str | None = None
    answer_id: str | None = None  # what the channel must acknowledge at once


@dataclass(frozen=True, slots=True)
class Mention(Inbound):
    """A public post that names our account (X)."""

    text: str
    post_id: str
    author_handle: str | None = None


@dataclass(frozen=True, slots=True)
class KeypadDigits(Inbound):
    """Keys a caller pressed on the phone, at a step of the dialogue."""

    digits: str
    step: str


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer to a person, to be sent by their channel through the outbox."""

    channel: str
    conversation: str
    text: str
    locale: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    in_reply_to: str | None = None  # the message or post answered, where the channel threads


Dispatch = Callable[[Inbound], Awaitable[None]]
