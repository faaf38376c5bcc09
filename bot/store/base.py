"""The store's contract: what every backend keeps, split by concern, and the types it returns.

`RevisionStore` keeps the audit history of the feed, `OutboxStore` the deliveries,
the ledger of what each target was told and the consistency figures,
`SubscriptionStore` who asked to hear about which places, `XStore` what the X channel
keeps (its threads, the mentions inbox), `TelegramStore` what the Telegram channels
remember. `Store` is all of them with a lifecycle: what `open_store` returns. Callers
that need one concern are typed with it. The backends (`bot.store.sql` and its
dialects) import this module; it imports none of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, Protocol, Self

if TYPE_CHECKING:
    from bot.delivery.model import Delivery, Limit, NewDelivery, Outcome


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, unreachable database…)."""


# Revisions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevisionRecord:
    number: int
    content_hash: str
    author: str
    source: str
    created_at: dt.datetime
    document: str


BeforeCommit = Callable[[RevisionRecord], Awaitable[None]]
# Given the latest revision before this one (None for the first) and the new one, the
# deliveries the new revision needs; run inside the revision's transaction.
Planner = Callable[[RevisionRecord | None, RevisionRecord], Awaitable[Sequence["NewDelivery"]]]


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


# The outbox and the ledger -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What one target of a channel was last told about one incident."""

    channel: str
    target: str
    incident_id: str
    revision: int
    fingerprint: str
    status: str
    payload: str
    delivered_at: float


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """Raw consistency figures of one channel (see bot/delivery/consistency.py)."""

    channel: str
    targets: int
    pending: int
    oldest_pending_at: float | None
    oldest_pending_revision: int | None
    retrying: int
    failed: int
    last_error: str | None
    last_delivered_at: float | None
    ledger_revision: int | None


# Subscriptions -----------------------------------------------------------------------


class PlaceKind(StrEnum):
    AREA = "area"  # an area id of the feed
    POSTCODE = "postcode"
    SERVICE = "service"  # a service id of the feed


# (Not `text in PlaceKind`: before Python 3.12 that raises for a text that is no member.)
_KINDS = {kind.value: kind for kind in PlaceKind}


@dataclass(frozen=True, slots=True, order=True)
class Place:
    """Where a subscriber listens: an area, a postcode or a service (stored as `kind:value`)."""

    kind: PlaceKind
    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, PlaceKind):
            raise ValueError(f"a place is an area, a postcode or a service, not {self.kind!r}")
        if not self.value or self.value != self.value.strip():
            raise ValueError(
                f"a {self.kind} needs a value without spaces around, not {self.value!r}"
            )

    @classmethod
    def area(cls, area_id: str) -> Place:
        return cls(PlaceKind.AREA, area_id)

    @classmethod
    def postcode(cls, postcode: str) -> Place:
        return cls(PlaceKind.POSTCODE, postcode)

    @classmethod
    def service(cls, service_id: str) -> Place:
        return cls(PlaceKind.SERVICE, service_id)

    @classmethod
    def parse(cls, text: str) -> Place:
        """`area:centro`, `postcode:28013`, `service:permits` (what `str` gives back)."""
        kind, _, value = text.partition(":")
        if kind not in _KINDS or not value or value != value.strip():
            raise ValueError(
                f"a place looks like area:ID, postcode:CODE or service:ID, not {text!r}"
            )
        return cls(_KINDS[kind], value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One address on one channel that asked to be told: where it listens, in which language,
    and what it was told."""

    id: int
    channel: str
    address: str  # the channel's target: a phone number, a chat id…
    places: tuple[Place, ...]  # sorted
    locale: str
    created_at: dt.datetime
    last_notified_revision: int | None  # the newest revision it was told of, about any incident
    # The incidents it asked about by name (a caller pressing 1 asks about those at their
    # postcode), sorted, and of those the ones it was told of already (called back).
    incident_ids: tuple[str, ...] = ()
    told_incident_ids: tuple[str, ...] = ()


class PlaceCount(NamedTuple):
    """How many addresses of a channel listen to a place (no personal data)."""

    channel: str
    place: Place
    subscribers: int


# Telegram ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One message a staff chat was sent about an incident (an alert, its repeat, or its
    escalation to another group). `target` is the chat id the feed names; `chat_id` where
    the message went (they differ once a group has migrated)."""

    target: str
    message_id: int
    chat_id: str
    incident_id: str
    revision: int
    group_id: str
    kind: str  # "alert", "repeat" or "escalation"
    delivery_key: str
    text: str
    sent_at: float
    superseded_by: int | None = None


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Someone pressed "Acknowledge" under an alert; `stale`: it was out of date by then."""

    target: str
    message_id: int
    user_id: str
    user_name: str
    group_id: str
    incident_id: str
    revision: int
    at: float
    stale: bool


@dataclass(frozen=True, slots=True)
class ChatMove:
    """A group that became a supergroup: the feed's id, where its messages go now, since."""

    target: str
    moved_to: str
    at: float


@dataclass(frozen=True, slots=True)
class PendingEscalation:
    """An alert waiting for its acknowledgement: at `due_at` (epoch seconds) it is repeated
    (stage 0), then escalated (stage 1)."""

    target: str
    incident_id: str
    revision: int
    group_id: str
    due_at: float
    stage: int


# The contract ------------------------------------------------------------------------


class RevisionStore(Protocol):
    """The feed's numbered revisions: the audit history, and where a revision's fan-out
    is written."""

    async def record_revision(
        self,
        document: str,
        *,
        author: str,
        source: str,
        plan: Planner | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> tuple[RevisionRecord, bool]:
        """Record `document` as the next revision unless it equals the latest one.

        One write transaction: the latest revision is read, compared by hash, the new
        one inserted with the deliveries `plan` returns (superseding stale ones), and
        `before_commit` run (to write the YAML file only when the revision is
        recorded); if anything raises, nothing is recorded.
        Returns the current revision and whether it was created now.
        """
        ...

    async def latest_revision(self) -> RevisionRecord | None: ...

    async def get_revision(self, number: int) -> RevisionRecord | None: ...

    async def list_revisions(
        self, *, limit: int = 50, before: int | None = None
    ) -> list[RevisionRecord]:
        """Newest first."""
        ...

    async def revision_cursor(self, name: str) -> int | None:
        """The newest revision the listener `name` has handled (None: it never ran here)."""
        ...

    async def advance_revision_cursor(self, name: str, revision: int) -> None:
        """Remember that the listener `name` has handled `revision` (never going back)."""
        ...


class OutboxStore(Protocol):
    """Deliveries waiting, claimed and finished; the ledger; the consistency figures."""

    async def enqueue(self, deliveries: Sequence[NewDelivery]) -> int:
        """Queue deliveries outside a revision's plan (replies, alerts), each telling a recorded
        revision (the current one); returns how many were new (a key already queued,
        whatever its state, is not queued again)."""
        ...

    async def claim_deliveries(
        self,
        channel: str,
        *,
        instance: str,
        limit: int,
        lease: float,
        limits: Sequence[Limit] = (),
        now: float | None = None,
        finished: Sequence[Outcome] = (),
        share: float = 1.0,
    ) -> list[Delivery]: ...

    async def finish_deliveries(self, outcomes: Sequence[Outcome], *, instance: str) -> None: ...

    async def release_claims(self, *, instance: str | None = None) -> int: ...

    async def next_attempt_at(self, channel: str) -> float | None: ...

    async def prune_send_log(self, *, now: float | None = None) -> None: ...

    async def ledger(self, channel: str | None = None) -> list[LedgerEntry]: ...

    async def channel_figures(self) -> list[ChannelFigures]: ...

    async def delivery_counts(self) -> dict[str, int]: ...


class SubscriptionStore(Protocol):
    """Who asked to be told, on which channel, about which places: one API for every
    channel (a caller pressing 1, a Telegram /subscribe…)."""

    async def subscribe(
        self,
        channel: str,
        address: str,
        *,
        places: Sequence[Place],
        locale: str,
        incident_ids: Sequence[str] = (),
        now: dt.datetime | None = None,
    ) -> Subscription:
        """Add `places` (and `incident_ids`, asked about by name) to the address's
        subscription on `channel`, making it if need be; its locale becomes `locale`.

        Idempotent: a place or an incident already there stays one; an incident it was
        told of already is not told again because it is asked about again.
        """
        ...

    async def unsubscribe(self, channel: str, address: str, place: Place | None = None) -> int:
        """Stop listening to `place` (None: to everything, incidents asked about too).
        A subscription left without places is deleted. Returns the places removed."""
        ...

    async def forget(self, channel: str, address: str) -> int:
        """Delete what the store holds about `address` on `channel`: its subscription, the
        language it chose, every delivery to it (waiting, being sent, finished), the ledger
        of what it was told and its rate-limit log. Returns the rows deleted.

        A delivery being sent at that moment is deleted too: its outcome then marks nothing,
        but writes its ledger row unless its status is `UNRECORDED` (the confirmation of a
        /forget is: the adapter forgets while sending it, and a chat's deliveries go one at
        a time, so nothing else is in flight to it). What stays: the texts of the messages
        (`payloads`, shared by hash with others and naming no address).
        """
        ...

    async def chosen_language(self, channel: str, address: str) -> str | None:
        """The locale `address` chose on `channel` (None: it chose none)."""
        ...

    async def choose_language(self, channel: str, address: str, locale: str | None) -> None:
        """Keep the locale `address` chose (None: forget it)."""
        ...

    async def subscriptions_of(self, channel: str, address: str) -> list[Subscription]:
        """The address's subscription on `channel`, if any (a list: empty or one)."""
        ...

    async def subscribers_for(self, channel: str, places: Sequence[Place]) -> list[Subscription]:
        """Every subscription on `channel` listening to any of `places`, once each, by id."""
        ...

    async def subscription_counts(self) -> list[PlaceCount]:
        """Per channel and place, how many listen (for the subscriptions summary)."""
        ...

    async def queue_notifications(
        self,
        channel: str,
        incident_id: str,
        *,
        revision: int,
        make: Callable[[Subscription], NewDelivery],
        places: Sequence[Place] = (),
        once: bool = False,
        chunk: int | None = None,
        queued: Callable[[int], object] | None = None,
    ) -> int:
        """Queue what `make` builds for each subscription on `channel` that is owed word of
        `incident_id` at `revision`, exactly once.

        Owed: it listens to one of `places` or asked about the incident by name, and was
        not told of it at `revision` or later (`once`: was never told of it, as a caller
        is called back once). One transaction marks them told and enqueues their
        deliveries, so however often (and by however many instances) this runs, each is
        told once. Returns how many were queued.

        `chunk`: in chunks of subscriptions, in id order, each its own transaction, and
        `queued(count)` called after each (to wake the senders: the first messages leave
        while the rest are queued). The first chunk holds `chunk` subscriptions, each next
        one twice as many as the last (up to 16 × `chunk`). A crash between chunks leaves
        the ones committed marked told, so running this again queues only the rest.
        """
        ...


# X -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XPost:
    """A post Unavoz made on X: under which delivery, in which thread, with which text."""

    idempotency_key: str
    thread: str  # the delivery's target: `post:LOCALE:INCIDENT`, `mention:ID`, `auto:USER`
    post_id: str
    text: str
    revision: int
    posted_at: float


@dataclass(frozen=True, slots=True)
class XMention:
    """A post naming the account, matched to incidents when it arrived, and what was done."""

    post_id: str
    author_id: str
    author_handle: str | None
    text: str
    locale: str
    created_at: dt.datetime
    revision: int  # the revision it was matched against and its draft made from
    incident_ids: tuple[str, ...]
    draft: str
    state: str = "new"  # new · replied · auto_replied · dismissed · ignored
    reply_text: str | None = None
    reply_revision: int | None = None
    reply_key: str | None = None
    handled_by: str | None = None
    handled_at: float | None = None
    override_reason: str | None = None
    overridden: str | None = None  # JSON: the blocking findings sent past


@dataclass(frozen=True, slots=True)
class XThreadState:
    """Per X thread (`post:LOCALE:INCIDENT`): what is waiting or failing, and the last post."""

    thread: str
    pending: int
    failed: int
    last_error: str | None
    waiting_statuses: tuple[str, ...]  # the incident statuses of the posts waiting
    last_revision: int | None
    last_posted_at: float | None


class XStore(Protocol):
    """What the X channel keeps: its posts (threads, exactly once), its mentions inbox, and
    the newest mention read."""

    async def x_record_post(self, post: XPost) -> XPost:
        """Record a post made for a delivery; the one already recorded for its key wins."""
        ...

    async def x_post_of(self, idempotency_key: str) -> XPost | None: ...

    async def x_thread_tip(self, thread: str) -> XPost | None:
        """The latest post of a thread: the one the next post answers."""
        ...

    async def x_posts_with_text(self, text: str) -> list[XPost]: ...

    async def x_cursor(self, name: str) -> str | None: ...

    async def x_add_mentions(
        self, mentions: Sequence[XMention], *, cursor: tuple[str, str] | None = None
    ) -> list[XMention]:
        """Add the mentions not already there and move `cursor` (name, value), in one
        transaction. Returns those added."""
        ...

    async def x_mentions(self, *, limit: int = 100, state: str | None = None) -> list[XMention]:
        """Newest first."""
        ...

    async def x_mention(self, post_id: str) -> XMention | None: ...

    async def x_handle_mention(
        self,
        post_id: str,
        *,
        state: str,
        by: str,
        at: float,
        reply: NewDelivery | None = None,
        reply_text: str | None = None,
        override_reason: str | None = None,
        overridden: str | None = None,
    ) -> bool:
        """Move a `new` mention to `state` (replied, auto_replied, dismissed), queueing `reply`
        in the same transaction. False when it was handled already, or `reply`'s key is
        queued already (nothing is queued, the mention is left as it was)."""
        ...

    async def x_threads(self) -> list[XThreadState]: ...

    async def x_newer_waiting(self, target: str, delivery_id: int) -> bool:
        """Whether a later delivery to `target` waits behind delivery `delivery_id`."""
        ...


class TelegramStore(Protocol):
    """What the Telegram channels keep: getUpdates offsets, the alerts sent to staff chats
    (to supersede them), acknowledgements, pending escalations and migrated chats."""

    async def update_offset(self, bot: str) -> int | None:
        """The next update id bot `bot` (its numeric id) should ask getUpdates for."""
        ...

    async def save_update_offset(self, bot: str, next_update_id: int) -> None:
        """Remember the next update id (it never goes back)."""
        ...

    async def record_alert(
        self, alert: AlertMessage, *, escalate_at: float | None = None
    ) -> AlertMessage:
        """Record a message sent (once per delivery key: the first record stays, and is
        returned). A revision's alert ends the pending escalations of the older alerts of
        its chat and incident and, with `escalate_at`, starts its own."""
        ...

    async def alert_of_delivery(self, delivery_key: str) -> AlertMessage | None:
        """The message a delivery already sent, if it did."""
        ...

    async def alert_message(self, target: str, message_id: int) -> AlertMessage | None: ...

    async def alerts_to_supersede(
        self, target: str, incident_id: str, revision: int
    ) -> list[AlertMessage]:
        """Alerts (and repeats) of older revisions in that chat, not yet marked out of date."""
        ...

    async def mark_superseded(self, target: str, message_ids: Sequence[int], by: int) -> None: ...

    async def latest_alerts(self, incident_id: str) -> list[AlertMessage]:
        """Per chat, the alert of the newest revision told about `incident_id`."""
        ...

    async def record_ack(
        self, target: str, message_id: int, *, user_id: str, user_name: str, at: float
    ) -> tuple[Acknowledgement, list[Acknowledgement]] | None:
        """Record who acknowledged the alert `message_id` (once per person and message):
        stale if a newer alert of its incident was sent to that chat. A current one ends
        the alert's escalation. Returns the acknowledgement and all of that message's,
        or None when no such alert was sent."""
        ...

    async def acks_for(self, incident_id: str) -> list[Acknowledgement]:
        """Every acknowledgement of the incident's alerts, oldest first."""
        ...

    async def due_escalations(self, now: float) -> list[PendingEscalation]: ...

    async def advance_escalation(
        self,
        pending: PendingEscalation,
        *,
        stage: int,
        due_at: float,
        deliveries: Sequence[NewDelivery],
    ) -> bool:
        """Move `pending` to `stage` and queue `deliveries`, in one transaction, only if it is
        still at its stage and unacknowledged: however many run this, one does it."""
        ...

    async def move_chat(
        self, target: str, moved_to: str, at: float, *, warnings: Sequence[NewDelivery] = ()
    ) -> bool:
        """Remember that chat `target` moved to `moved_to`. True when that is news (not
        known already): then, in the same transaction, `warnings` are queued — so however
        many instances meet the move, operators are told once."""
        ...

    async def chat_moves(self) -> dict[str, str]:
        """Chats that migrated: the feed's id → the id messages go to now."""
        ...

    async def moved_chats(self) -> list[ChatMove]:
        """Chats that migrated, with when, by the feed's id."""
        ...

    async def operator_draft(self, chat_id: str, user_id: str) -> tuple[str, float] | None:
        """An operator's conversation in the making in a chat: its JSON and when it was
        last saved (the caller decides whether it is too old)."""
        ...

    async def save_operator_draft(
        self, chat_id: str, user_id: str, body: str, *, at: float, expire_before: float
    ) -> None:
        """Keep the draft (replacing the earlier one), and delete every draft last saved
        before `expire_before`."""
        ...

    async def drop_operator_draft(self, chat_id: str, user_id: str) -> None: ...


# Hand-offs (the customer bot) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandoffMessage:
    """One message of a hand-off: `sender` is "customer" or "team" (`author`: who)."""

    id: int
    chat_id: str
    sender: str
    author: str | None
    text: str
    at: float
    reply_key: str | None = None
    override_reason: str | None = None
    overridden: str | None = None  # JSON: the blocking findings of the claims lint sent past


@dataclass(frozen=True, slots=True)
class Handoff:
    """A customer's conversation handed to a person, open until the team closes it."""

    chat_id: str
    locale: str
    places: tuple[str, ...]
    state: str  # open · closed
    opened_at: float
    updated_at: float
    closed_by: str | None = None
    messages: tuple[HandoffMessage, ...] = ()


class HandoffStore(Protocol):
    """Conversations the customer bot handed to a person (the operators' console)."""

    async def handoff_open(
        self, chat_id: str, *, locale: str, places: Sequence[str], text: str, at: float
    ) -> bool:
        """Open (or reopen) the chat's hand-off with what the customer said; True if new."""
        ...

    async def handoff_is_open(self, chat_id: str) -> bool: ...

    async def handoff_customer_wrote(self, chat_id: str, text: str, at: float) -> None: ...

    async def handoff_reply(
        self,
        chat_id: str,
        *,
        author: str,
        text: str,
        at: float,
        reply: NewDelivery,
        override_reason: str | None = None,
        overridden: str | None = None,
    ) -> bool:
        """Record the team's reply and queue `reply`, in one transaction; False when that
        reply was recorded already or the chat has no hand-off."""
        ...

    async def handoff_close(self, chat_id: str, *, by: str, at: float) -> bool: ...

    async def handoffs(self, *, state: str | None = "open", limit: int = 100) -> list[Handoff]:
        """Newest activity first, without their messages."""
        ...

    async def handoff(self, chat_id: str) -> Handoff | None:
        """One hand-off with its messages, oldest first."""
        ...

    async def handoff_forget(self, chat_id: str) -> int: ...


class Store(
    RevisionStore, OutboxStore, SubscriptionStore, XStore, TelegramStore, HandoffStore, Protocol
):
    """Every concern, and the lifecycle: what `open_store` returns."""

    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
