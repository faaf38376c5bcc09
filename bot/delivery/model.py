"""What the outbox holds, what a channel may answer, and the limits a channel declares."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting its turn (or its retry time)
    SENDING = "sending"  # claimed by an instance, under a lease
    SENT = "sent"
    FAILED = "failed"  # permanent failure: visible in the audit, not retried
    SUPERSEDED = "superseded"  # a newer revision replaced it before it was sent


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` sends in any window of `seconds`."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str | None) -> tuple[Limit, ...]:
        """ "50/1" → at most 50 a second; "100/900" → 100 per 15 minutes; empty → none."""
        if not text:
            return ()
        count, _, seconds = text.partition("/")
        try:
            return (cls(int(count), float(seconds or 1)),)
        except ValueError:
            raise ValueError(f"a rate looks like 50/1 (50 per second), not {text!r}") from None


# The status of a delivery that leaves no ledger row when sent: the confirmation of a
# /forget, which must leave nothing behind about the chat it went to.
UNRECORDED = "unrecorded"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery planned for a revision, written in the revision's own transaction."""

    revision: int
    incident_id: str
    channel: str
    target: str
    status: str  # the incident's status: a change of status is never superseded
    fingerprint: str  # the facts told (see Statement.facts_fingerprint)
    payload: str  # JSON the adapter sends
    target_limit: Limit | None = None

    @property
    def idempotency_key(self) -> str:
        raw = f"{self.revision}\x1f{self.incident_id}\x1f{self.channel}\x1f{self.target}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery, as a worker sends it."""

    id: int
    idempotency_key: str
    revision: int
    incident_id: str
    channel: str
    target: str
    status: str
    fingerprint: str
    payload: str
    attempts: int
    # The payload's key in the store, when it came from there: the ledger records it
    # without hashing the payload again.
    payload_hash: str | None = None


class DeliveryError(Exception):
    """Raised by an adapter's `deliver`; the subclass says what the engine does next."""


class RetryLater(DeliveryError):
    """The channel said when to come back (HTTP 429 `retry_after`, rate-limit reset)."""

    def __init__(self, after: float, message: str = "rate limited") -> None:
        super().__init__(f"{message}; retry after {after:g} s")
        self.after = after


class TransientError(DeliveryError):
    """Network error, timeout, 5xx: retried with exponential backoff and jitter."""


class PermanentError(DeliveryError):
    """403, blocked bot, unknown chat: not retried, shown as failing until fixed."""


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery: Delivery
    state: DeliveryState  # SENT, PENDING (retry) or FAILED
    error: str | None = None
    retry_at: float | None = None
    sent_at: float | None = None
