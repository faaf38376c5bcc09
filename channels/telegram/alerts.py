"""Staff alerts: who is told (targets), what (payloads), and what follows — superseding,
acknowledgements, escalation. Targeting and payloads are pure; the rest uses the store.

A staff group hears about an incident when its areas (with the area hierarchy: a group of
a district hears about the district and any part of it, and about anything declared on
an area containing it) and its services match; empty areas mean every area, empty
services every service, so a group with neither (operations) hears everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.delivery.adapter import Target
from bot.delivery.model import Limit, NewDelivery
from bot.feed.models import Edge, Feed, Incident, StaffGroup, Update
from bot.render.when import say_when
from bot.state import FeedState
from bot.store import AlertMessage, ChatMove, PendingEscalation, TelegramStore
from bot.store.telegram_sql import ESCALATED, OVER, REPEATED
from channels.telegram.limits import CHAT_LIMIT, GROUP_LIMIT, MAX_CALLBACK_DATA
from channels.telegram.words import word

log = logging.getLogger(__name__)

CHANNEL = "staff"
ACK_DATA = "ack"  # the button's callback data: the message itself says which alert


# Who -------------------------------------------------------------------------------------


def related_areas(feed: Feed, area_ids: Sequence[str]) -> set[str]:
    """`area_ids`, every area inside them and every area containing them."""
    parents = {area.id: area.parent for area in feed.areas}
    children: dict[str, list[str]] = {}
    for area_id, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(area_id)
    found: set[str] = set()
    stack = list(area_ids)
    while stack:  # down
        area_id = stack.pop()
        if area_id not in found:
            found.add(area_id)
            stack.extend(children.get(area_id, ()))
    for area_id in area_ids:  # up
        parent = parents.get(area_id)
        while parent is not None and parent not in found:
            found.add(parent)
            parent = parents.get(parent)
    return found


def group_matches(feed: Feed, group: StaffGroup, incident: Incident) -> bool:
    if group.services and not set(group.services) & set(incident.services):
        return False
    return not group.areas or bool(set(group.areas) & related_areas(feed, incident.areas))


def groups_for(feed: Feed, incident: Incident) -> list[StaffGroup]:
    return [group for group in feed.staff_groups if group_matches(feed, group, incident)]


def is_operations(group: StaffGroup) -> bool:
    """A group with neither areas nor services hears everything: operations."""
    return not group.areas and not group.services


def operations_targets(feed: Feed) -> list[tuple[StaffGroup, Target]]:
    """Each chat of the operations groups once, with its group."""
    found: dict[str, tuple[StaffGroup, Target]] = {}
    for group in feed.staff_groups:
        if is_operations(group):
            for chat_id in group.telegram_chat_ids:
                target = Target(str(chat_id), locale_of(feed, group), chat_limit(chat_id))
                found.setdefault(target.id, (group, target))
    return list(found.values())


def chat_limit(chat_id: int | str) -> Limit:
    return GROUP_LIMIT if int(chat_id) < 0 else CHAT_LIMIT


def locale_of(feed: Feed, group: StaffGroup) -> str:
    locales = feed.organization.locales
    return group.locale if group.locale in locales else feed.organization.default_locale


def targets(feed: Feed, incident: Incident) -> list[Target]:
    return [
        Target(id=str(chat_id), locale=locale_of(feed, group), limit=chat_limit(chat_id))
        for group in groups_for(feed, incident)
        for chat_id in group.telegram_chat_ids
    ]


_chats: tuple[Feed, dict[str, StaffGroup]] | None = None  # of the last feed asked about


def group_of_chat(feed: Feed, chat_id: str) -> StaffGroup | None:
    """The (first) staff group the feed gives this chat id (indexed once per feed: a fan-out
    asks for each of hundreds of chats)."""
    global _chats
    if _chats is None or _chats[0] is not feed:
        index: dict[str, StaffGroup] = {}
        for group in feed.staff_groups:
            for chat in group.telegram_chat_ids:
                index.setdefault(str(chat), group)
        _chats = (feed, index)
    return _chats[1].get(chat_id)


# What ------------------------------------------------------------------------------------


def alert_payload(state: FeedState, incident: Incident, target: Target, now: dt.datetime) -> str:
    """A revision's alert to one chat: the staff voice in the group's locale, with the
    Acknowledge button and its escalation while the incident is open."""
    feed = state.feed
    group = group_of_chat(feed, target.id)
    assert group is not None  # targets come from the groups
    locale = target.locale or feed.organization.default_locale
    body: dict[str, Any] = {
        "kind": "alert",
        "group": group.id,
        "locale": locale,
        "text": state.render(CHANNEL, incident, locale, now),
    }
    if incident.is_open:
        body["ack"] = word(locale, "ack")
        body["escalate_after"] = group.escalate_after.total_seconds()
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Payload:
    """A staff delivery's payload, read back."""

    kind: str  # "alert", "repeat", "escalation" or "reply"
    text: str
    locale: str
    group: str | None = None
    ack: str | None = None
    escalate_after: float | None = None
    incident: str | None = None  # repeats and escalations: the incident they are about
    revision: int | None = None  # … and the revision of the alert
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()

    @classmethod
    def read(cls, raw: str) -> Payload:
        body = json.loads(raw)
        rows = tuple(tuple((str(b[0]), str(b[1])) for b in row) for row in body.get("buttons", ()))
        return cls(
            kind=body["kind"],
            text=body["text"],
            locale=body.get("locale", "en"),
            group=body.get("group"),
            ack=body.get("ack"),
            escalate_after=body.get("escalate_after"),
            incident=body.get("incident"),
            revision=body.get("revision"),
            buttons=rows,
        )

    @property
    def keyboard(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        if self.ack:
            return (((self.ack, ACK_DATA),),)
        return self.buttons


def reply_delivery(
    state: FeedState,
    chat_id: str,
    reply_to: str,
    text: str,
    locale: str,
    buttons: Sequence[Sequence[tuple[str, str]]] = (),
) -> NewDelivery:
    """An answer to a message (`reply_to`: its id, so a message read twice is answered once)."""
    body = {
        "kind": "reply",
        "text": text[:4096],
        "locale": locale,
        "buttons": [list(row) for row in buttons],
    }
    where = Target(chat_id, locale, chat_limit(chat_id))
    return notice_delivery(state.revision.number, f"reply:{reply_to}", where, body, "reply")


def notice_delivery(
    revision: int,
    key: str,
    target: Target,
    body: dict[str, Any],
    status: str = "notice",
) -> NewDelivery:
    """A message to a staff chat that is no incident's alert (a reply, a warning, a prompt): once
    under `key`, which says what it is about."""
    return NewDelivery(
        revision=revision,
        incident_id=key,
        channel=CHANNEL,
        target=target.id,
        status=status,
        fingerprint=body["kind"],
        payload=json.dumps(body, ensure_ascii=False, sort_keys=True),
        target_limit=target.limit,
    )


# Operations are told what needs them ------------------------------------------------------


def moved_chat_warnings(state: FeedState, target: str, moved_to: str) -> list[NewDelivery]:
    """The warning to operations that the feed's chat `target` became `moved_to`: alerts go
    there, and the feed should say so (once per move: see `TelegramStore.move_chat`)."""
    feed = state.feed
    group = group_of_chat(feed, target)
    name = group.name if group is not None else target
    out = []
    for _, where in operations_targets(feed):
        locale = where.locale or feed.organization.default_locale
        text = word(locale, "chat_moved", group=name, old=target, new=moved_to)
        body = {"kind": "notice", "text": text, "locale": locale}
        key = f"chat-moved:{target}:{moved_to}"
        out.append(notice_delivery(state.revision.number, key, where, body))
    return out


def unsettled_moves(feed: Feed | None, moves: Sequence[ChatMove]) -> list[dict[str, Any]]:
    """The migrated chats the feed still names by their old id (all of them without a feed):
    a warning each until someone updates `telegram_chat_ids`."""
    out = []
    for move in moves:
        group = group_of_chat(feed, move.target) if feed is not None else None
        if feed is not None and group is None:
            continue  # the feed names it no more: settled
        since = dt.datetime.fromtimestamp(move.at, dt.UTC).isoformat(timespec="seconds")
        label = f"{group.id} ({group.name})" if group is not None else move.target
        out.append(
            {
                "group": group.id if group is not None else None,
                "old_chat_id": move.target,
                "new_chat_id": move.moved_to,
                "since": since,
                "warning": f"staff group {label}: Telegram chat {move.target} became the"
                f" supergroup {move.moved_to} on {since}; alerts go there. Put"
                f" {move.moved_to} in its telegram_chat_ids instead of {move.target}.",
            }
        )
    return out


# When a promise falls due, operations are asked to keep it: (words, button, button code).
ASKED = {
    Edge.ETA_PASSED: ("ask_eta", "ask_eta_button", "eta"),
    Edge.NEXT_UPDATE_OVERDUE: ("ask_update", "ask_update_button", "upd"),
}
ASK_PREFIX = "op:"  # the operators' conversation's buttons (operators.PREFIX)


def newly_told_edges(before: Incident | None, incident: Incident) -> list[Update]:
    """The timeline entries of promises fallen due that `incident` has and `before` had not
    (an edge is told once, in one revision: this is that revision)."""
    if before is None or not incident.is_open:
        return []
    told = {(u.edge, u.about) for u in before.updates if u.edge is not None}
    return [
        u
        for u in incident.updates
        if u.edge in ASKED and u.about is not None and (u.edge, u.about) not in told
    ]


def edge_prompts(
    state: FeedState, before: Incident | None, incident: Incident, now: dt.datetime
) -> list[NewDelivery]:
    """For each promise of `incident` that fell due in this revision, a prompt to each chat
    of operations with a button starting the operators' /update at what is missing."""
    feed = state.feed
    out = []
    for update in newly_told_edges(before, incident):
        assert update.edge is not None and update.about is not None
        words, button, code = ASKED[update.edge]
        for group, where in operations_targets(feed):
            locale = where.locale or feed.organization.default_locale
            title = state.statement(incident.id, locale).title
            time = say_when(update.about, now, locale, feed.organization.tz)
            body = {
                "kind": "prompt",
                "text": word(locale, words, title=title, time=time),
                "locale": locale,
                "group": group.id,
                "incident": incident.id,
                "buttons": [[(word(locale, button), prompt_data(code, incident.id))]],
            }
            key = f"{incident.id}#ask:{update.edge.value}"
            out.append(
                notice_delivery(state.revision.number, key, where, body, incident.status.value)
            )
    return out


def prompt_data(code: str, incident_id: str) -> str:
    """The prompt's button: `op:eta:<incident>`, or a digest of an id too long for Telegram's
    64 bytes of callback data."""
    data = f"{ASK_PREFIX}{code}:{incident_id}"
    if len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
        return data
    return f"{ASK_PREFIX}{code}:#{_digest(incident_id)}"


def read_prompt(feed: Feed, data: str) -> tuple[str, Incident | None] | None:
    """(the code, the incident) a prompt's button names; None when `data` is no prompt's.
    The incident is None when the feed has it no more."""
    if not data.startswith(ASK_PREFIX):
        return None
    code, _, ref = data[len(ASK_PREFIX) :].partition(":")
    if code not in {c for _, _, c in ASKED.values()} or not ref:
        return None
    for incident in feed.incidents:
        if incident.id == ref or ref == f"#{_digest(incident.id)}":
            return code, incident
    return code, None


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


# Superseding and acknowledging -----------------------------------------------------------


def message_link(chat_id: str, message_id: int) -> str:
    """A link to a message of a supergroup (t.me/c/…); other chats have none."""
    if chat_id.startswith("-100"):
        return f" (https://t.me/c/{chat_id[4:]}/{message_id})"
    return ""


def stale_text(alert: AlertMessage, newer_message_id: int, locale: str) -> str:
    warning = word(locale, "stale", link=message_link(alert.chat_id, newer_message_id))
    return f"{warning}\n\n{alert.text}"


def acked_text(alert: AlertMessage, names: Sequence[str], locale: str) -> str:
    return f"{alert.text}\n\n{word(locale, 'acked_by', names=', '.join(names))}"


# Escalating ------------------------------------------------------------------------------


def _minutes(group: StaffGroup) -> int:
    return max(1, round(group.escalate_after.total_seconds() / 60))


def escalation_step(
    state: FeedState, pending: PendingEscalation, now: dt.datetime
) -> tuple[int, float, list[NewDelivery]]:
    """What a due escalation does next: (its next stage, when that falls due, deliveries)."""
    feed = state.feed
    incident = feed.incident(pending.incident_id)
    group = next((g for g in feed.staff_groups if g.id == pending.group_id), None)
    if incident is None or not incident.is_open or group is None:
        return OVER, pending.due_at, []
    after = group.escalate_after.total_seconds()
    target = Target(pending.target, locale_of(feed, group), chat_limit(pending.target))
    if pending.stage < REPEATED:
        text = state.render(CHANNEL, incident, target.locale or "en", now)
        body = {
            "kind": "repeat",
            "text": f"{word(target.locale or 'en', 'repeat')}\n\n{text}",
            "locale": target.locale,
            "group": group.id,
            "ack": word(target.locale or "en", "ack"),
            "incident": incident.id,
            "revision": pending.revision,
        }
        repeat = notice_delivery(
            pending.revision, f"{incident.id}#repeat", target, body, incident.status.value
        )
        next_stage = REPEATED if group.escalate_to else OVER
        return next_stage, now.timestamp() + after, [repeat]
    to = next((g for g in feed.staff_groups if g.id == group.escalate_to), None)
    if to is None:
        return OVER, pending.due_at, []
    deliveries = []
    for chat_id in to.telegram_chat_ids:
        locale = locale_of(feed, to)
        text = state.render(CHANNEL, incident, locale, now)
        heading = word(locale, "escalation", group=group.name, minutes=_minutes(group))
        body = {
            "kind": "escalation",
            "text": f"{heading}\n\n{text}",
            "locale": locale,
            "group": to.id,
            "incident": incident.id,
            "revision": pending.revision,
        }
        where = Target(str(chat_id), locale, chat_limit(chat_id))
        escalated = f"{incident.id}#escalated:{pending.target}"
        deliveries.append(
            notice_delivery(pending.revision, escalated, where, body, incident.status.value)
        )
    return ESCALATED, pending.due_at, deliveries


async def escalate_due(
    store: TelegramStore, state: FeedState, clock: Callable[[], dt.datetime]
) -> int:
    """Take every due escalation one step; safe on any instance, any number of times."""
    now = clock()
    moved = 0
    for pending in await store.due_escalations(now.timestamp()):
        stage, due_at, deliveries = escalation_step(state, pending, now)
        if await store.advance_escalation(
            pending, stage=stage, due_at=due_at, deliveries=deliveries
        ):
            moved += len(deliveries)
            if deliveries:
                log.info(
                    "alert %s in %s unacknowledged: %s",
                    pending.incident_id,
                    pending.target,
                    "repeated" if stage != ESCALATED else "escalated",
                )
    return moved
