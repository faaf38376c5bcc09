"""Telling subscribers: every change that matters to their place, exactly once.

Why not the planner. The planner (`bot/delivery/plan.py`) runs inside the revision's
transaction and its `targets()` is pure, without I/O, so it cannot read who subscribed;
and giving it every subscriber would mean reading all of them for every revision. So the
customer channel listens to every adopted revision (`FeedService.subscribe`) and, for
each incident whose facts changed in it, asks the store to queue a notification for the
subscribers of the incident's places with `SubscriptionStore.queue_notifications`.

Why that is exactly once. `queue_notifications` marks each subscription told of the
incident at that revision and enqueues its delivery in one transaction (one per chunk of
`QUEUE_CHUNK` subscribers), skipping those already told at that revision or a later one;
the delivery's idempotency key is (revision, incident, channel, chat) besides. So the
handler may run any number of times, on any number of instances (each adopts every
revision, on PostgreSQL through NOTIFY), and after a restart (a revision is adopted again
at start, so one recorded just before a crash — or cut off between two chunks — is told
then): each subscription × incident × revision is queued once. The engine
then sends each delivery once (leases, the ledger), and a newer revision replaces a
waiting notification of the same incident — never across a change of status, so
"fixed" is always told.

What counts as a change: the incident is new and open (or announced maintenance), or its
facts differ from the revision before (`Statement.facts_fingerprint`: status, ETA, next
update, workaround, areas, services, a promise that fell due). Places: its services, its
areas and every area below them, and their postcodes — before and after the change, so
those an incident leaves hear it too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.delivery.model import Limit, NewDelivery
from bot.feed.loader import parse_feed
from bot.feed.lookup import normalize_postcode
from bot.feed.models import Feed, Incident
from bot.feed.yamlsource import FeedError
from bot.state import FeedState
from bot.store import Place, Store, Subscription, SubscriptionStore
from channels.telegram.customer_replies import locale_for, what_changed
from channels.telegram.customer_words import word
from channels.telegram.limits import CHAT_LIMIT

if TYPE_CHECKING:
    from bot.service import FeedService

log = logging.getLogger(__name__)
CHANNEL = "customer"
# Subscribers queued per transaction. 10,000 in one took ~0.5 s before the engine could
# send the first; a chunk takes a few tens of milliseconds.
QUEUE_CHUNK = 500


def kind_of_change(before: Incident | None, after: Incident) -> str:
    if not after.is_open:
        return "fixed"
    if before is None or not before.is_open:
        return "new"
    return "update"


def changed(
    previous: FeedState | None, current: FeedState
) -> list[tuple[Incident | None, Incident]]:
    """The incidents whose facts changed in `current` (before, after)."""
    out: list[tuple[Incident | None, Incident]] = []
    for incident in current.feed.incidents:
        before = previous.feed.incident(incident.id) if previous is not None else None
        if before is None:
            if incident.is_open and previous is not None:
                out.append((None, incident))
            continue
        if not before.is_open and not incident.is_open:
            continue
        if (
            previous is not None
            and previous.statement(incident.id).facts_fingerprint()
            != current.statement(incident.id).facts_fingerprint()
        ):
            out.append((before, incident))
    return out


def places_of(feed: Feed, incident: Incident) -> set[Place]:
    """Where a subscriber hears of `incident`: its services, areas (and those below), postcodes."""
    children: dict[str, list[str]] = defaultdict(list)
    for area in feed.areas:
        if area.parent is not None:
            children[area.parent].append(area.id)
    areas: set[str] = set()
    stack = list(incident.areas)
    while stack:
        area_id = stack.pop()
        if area_id not in areas:
            areas.add(area_id)
            stack.extend(children.get(area_id, ()))
    places = {Place.service(s) for s in incident.services} | {Place.area(a) for a in areas}
    for area in feed.areas:
        if area.id in areas:
            places.update(Place.postcode(normalize_postcode(p)) for p in area.postcodes)
    return places


def notification_text(
    state: FeedState,
    incident: Incident,
    kind: str,
    locale: str,
    now: dt.datetime,
    previous: FeedState | None = None,
) -> str:
    """The notice: what kind of news (and, for an update, what changed since `previous`),
    then the customer voice's whole text."""
    heading = word(locale, kind)
    if kind == "update" and previous is not None and previous.feed.incident(incident.id):
        changes = what_changed(
            previous.statement(incident.id, locale), state.statement(incident.id, locale), now
        )
        if changes:
            heading = word(locale, "changed", heading=heading, changes="; ".join(changes))
    return f"{heading}\n\n{state.render(CHANNEL, incident, locale, now)}"


def maker(
    state: FeedState,
    incident: Incident,
    kind: str,
    now: dt.datetime,
    chat_limit: Limit | None = CHAT_LIMIT,
    previous: FeedState | None = None,
) -> Callable[[Subscription], NewDelivery]:
    """Builds each subscriber's delivery; the text is rendered once per locale."""
    feed = state.feed
    fingerprint = state.statement(incident.id).facts_fingerprint()
    payloads: dict[str, str] = {}

    def make(subscription: Subscription) -> NewDelivery:
        locale = locale_for(feed, subscription.locale)
        payload = payloads.get(locale)
        if payload is None:
            text = notification_text(state, incident, kind, locale, now, previous)
            payload = json.dumps(
                {"kind": "notice", "text": text, "buttons": []}, ensure_ascii=False
            )
            payloads[locale] = payload
        return NewDelivery(
            revision=state.revision.number,
            incident_id=incident.id,
            channel=CHANNEL,
            target=subscription.address,
            status=incident.status.value,
            fingerprint=fingerprint,
            payload=payload,
            target_limit=chat_limit,
        )

    return make


async def queue_changes(
    store: SubscriptionStore,
    previous: FeedState | None,
    current: FeedState,
    now: dt.datetime,
    *,
    chat_limit: Limit | None = CHAT_LIMIT,
    wake: Callable[[], None] | None = None,
    chunk: int = QUEUE_CHUNK,
) -> int:
    """Queue the notifications `current` owes; safe to run any number of times.

    Subscribers are queued `chunk` to a transaction, and `wake` (the delivery engine) is
    called after each: the first notifications leave while the rest are queued.
    """
    queued = 0
    for before, incident in changed(previous, current):
        places = places_of(current.feed, incident)
        if before is not None and previous is not None:
            places |= places_of(previous.feed, before)
        kind = kind_of_change(before, incident)
        queued += await store.queue_notifications(
            CHANNEL,
            incident.id,
            revision=current.revision.number,
            make=maker(current, incident, kind, now, chat_limit, previous),
            places=sorted(places),
            chunk=chunk,
            queued=None if wake is None else lambda _count: wake(),
        )
    if queued:
        log.info("revision %d: %d customer notifications queued", current.revision.number, queued)
    return queued


# The notifier's cursor in the store: the newest revision whose changes it has queued.
CURSOR = "customer-notify"
# Revisions told one by one after a restart, at most; a longer gap is told as one net change
# (from the last revision handled to the current one).
CATCH_UP = 50


class NotifyOnRevision:
    """A `FeedService` listener: the changes of every revision since the last one handled,
    queued for subscribers, in order.

    The last one handled is a cursor in the store, moved on after each revision's
    notifications are queued: revisions recorded while no notifier ran (the CLI's, with the
    server down; another instance's, before this one started) are each told when the next
    is adopted, not only the change from the one before the latest. Told one by one, in
    order, each change is told as it happened, as if the notifier had run then; the engine
    then replaces a notification still waiting by a newer one of the same status, so a
    backlog of ETA changes reaches a subscriber as the latest, while every change of status
    — a resolution above all — is told.
    """

    def __init__(
        self,
        store: Store,
        service: FeedService,
        wake: Callable[[], None],
        *,
        chat_limits: bool = True,
    ) -> None:
        self.store = store
        self.service = service
        self.wake = wake
        self.chat_limit = CHAT_LIMIT if chat_limits else None
        self._last: FeedState | None = None

    async def state_of(self, number: int) -> FeedState | None:
        """Revision `number` (kept from the last call, else read from the store), or None when
        it is not there or valid under older rules only."""
        if self._last is not None and self._last.revision.number == number:
            return self._last
        record = await self.store.get_revision(number) if number > 0 else None
        if record is None:
            return None
        registry = self.service.registry
        try:
            loaded = parse_feed(record.document, f"revision {number}", registry)
        except FeedError:
            return None
        return FeedState.build(loaded, record, registry.renderers)

    async def __call__(self, current: FeedState) -> None:
        number = current.revision.number
        handled = await self.store.revision_cursor(CURSOR)
        if handled is not None and handled >= number:
            self._last = current  # told already (by this instance earlier, or another)
            return
        if handled is None:  # never ran here: from the revision before, as ever
            handled = number - 1
        steps = list(range(handled + 1, number + 1))
        if len(steps) > CATCH_UP:
            log.warning(
                "customer notifications: %d revisions since the last told (%d): telling the net"
                " change to revision %d",
                len(steps),
                handled,
                number,
            )
            steps = [number]
        elif len(steps) > 1:
            log.info("customer notifications: catching up on revisions %d–%d", steps[0], number)
        previous = await self.state_of(handled)
        for step in steps:
            state = current if step == number else await self.state_of(step)
            if state is None:
                continue  # unreadable: its changes are told with the next one's
            await queue_changes(
                self.store,
                previous,
                state,
                self.service.clock(),
                chat_limit=self.chat_limit,
                wake=self.wake,  # after each chunk queued
            )
            await self.store.advance_revision_cursor(CURSOR, step)
            previous = self._last = state
