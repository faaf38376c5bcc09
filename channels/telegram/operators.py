"""Operations leads change the feed from Telegram: /open, /update, /resolve as a guided chat.

Only Telegram users on the allow-list (numeric user ids, from the feed's
`channels.staff.options.operators` or TELEGRAM_OPERATORS; never usernames, which
anyone can change) may, in a private chat with the bot or the operations group (a
staff group with neither areas nor services). Buttons choose the incident, the
status, the services and areas; free text gives the words in each locale and times
("18:30", "+2h"). Before anything changes, they see what every channel will say, and
confirm. The change then goes through `FeedService.apply`, like the CLI's and the
admin API's: the same validation, the same errors, a revision authored by
`telegram:<user id> (<name>)`. Anyone else is refused politely, and logged.

Each step is kept in the store (per chat and person), so a restart or a failover in the
middle goes on where it was; a conversation left for an hour (`DRAFT_LIFETIME`, by the
channel's clock) is over. A prompt's button (`alerts.edge_prompts`: an ETA passed, an
update overdue) starts /update of its incident at the step it asks for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.feed.changes import (
    Change,
    ChangeError,
    OpenIncident,
    ResolveIncident,
    TimeInputError,
    UpdateIncident,
    apply_change,
    parse_when,
)
from bot.feed.loader import parse_feed
from bot.feed.models import Feed, Incident, Status
from bot.feed.yamlsource import FeedError
from bot.inbound import ButtonPressed, Inbound, TextMessage
from bot.statement import build_statement
from bot.store import TelegramStore
from bot.words import status_label, words
from channels.telegram import alerts

if TYPE_CHECKING:
    from channels.telegram.handlers import StaffBot

log = logging.getLogger(__name__)

COMMANDS = ("open", "update", "resolve", "cancel")
PREFIX = alerts.ASK_PREFIX  # callback data of the conversation's buttons
PREVIEW_EACH = 700  # characters of each channel's words shown in a preview
STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)

LANGUAGES = {"es": "español", "en": "English"}
OPTIONAL = frozenset({"staff_instructions", "message"})
# Where a prompt's button starts /update: a passed ETA asks for a new one (and the next
# update), an overdue update for the whole update.
ASKED_STEPS = {
    "eta": ("when:eta", "when:next_update_by", "preview"),
    "upd": ("status", "text:message", "when:eta", "when:next_update_by", "preview"),
}
STEPS = {
    "open": ["services", "areas", "status", "text:title", "text:summary",
             "text:staff_instructions", "when:eta", "when:next_update_by", "preview"],
    "update": ["incident", "status", "text:message", "when:eta", "when:next_update_by",
               "preview"],
    "resolve": ["incident", "text:resolution", "preview"],
}  # fmt: skip


def say(locale: str, key: str, **values: Any) -> str:
    """The operators' fixed words: the `operators` section of `bot/words/<locale>.yaml`."""
    return words(locale)(f"operators.{key}", **values)


@dataclass
class Draft:
    """One operator's change in the making, in one chat (kept in the store between steps)."""

    action: str
    locale: str
    steps: list[str]
    incidents: list[str] = field(default_factory=list)  # offered, by button index
    chosen: dict[str, list[str]] = field(default_factory=dict)  # services, areas
    values: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    pending_locales: list[str] = field(default_factory=list)  # of the text step at hand
    over: bool = False  # done, cancelled or refused: deleted rather than kept

    @property
    def step(self) -> str:
        return self.steps[0]

    def dumps(self) -> str:
        values = {
            name: value.isoformat() if isinstance(value, dt.datetime) else str(value)
            for name, value in self.values.items()
        }
        body = {
            "action": self.action,
            "locale": self.locale,
            "steps": self.steps,
            "incidents": self.incidents,
            "chosen": self.chosen,
            "values": values,
            "texts": self.texts,
            "pending_locales": self.pending_locales,
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, raw: str) -> Draft:
        body = json.loads(raw)
        values: dict[str, Any] = {}
        for name, value in body["values"].items():
            if name == "status":
                values[name] = Status(value)
            elif name in ("eta", "next_update_by"):
                values[name] = dt.datetime.fromisoformat(value)
            else:
                values[name] = value
        return cls(
            action=body["action"],
            locale=body["locale"],
            steps=list(body["steps"]),
            incidents=list(body["incidents"]),
            chosen={k: list(v) for k, v in body["chosen"].items()},
            values=values,
            texts={k: dict(v) for k, v in body["texts"].items()},
            pending_locales=list(body["pending_locales"]),
        )


# A draft left this long is over: the operator starts again (the feed may have moved on).
DRAFT_LIFETIME = dt.timedelta(hours=1)
EXPIRED = "expired"  # what `Operators._draft` finds of a draft left too long


class Operators:
    def __init__(self, staff: StaffBot, allowed: Callable[[], set[str]]) -> None:
        self.staff = staff
        self.allowed = allowed

    @property
    def service(self) -> Any:
        return self.staff.service

    @property
    def store(self) -> TelegramStore:
        return self.staff.store

    # Drafts, kept in the store: a restart mid-conversation goes on where it was ----------

    async def _draft(self, key: tuple[str, str]) -> Draft | str | None:
        """The draft in the making under `key`, `EXPIRED` if it was left too long, or None."""
        found = await self.store.operator_draft(*key)
        if found is None:
            return None
        body, saved_at = found
        if saved_at < self.service.clock().timestamp() - DRAFT_LIFETIME.total_seconds():
            return EXPIRED
        try:
            return Draft.loads(body)
        except (ValueError, KeyError, TypeError):  # written by another release: start again
            log.warning("operator draft of %s in %s unreadable: dropped", key[1], key[0])
            return EXPIRED

    async def _keep(self, key: tuple[str, str], draft: Draft) -> None:
        if draft.over:
            await self.store.drop_operator_draft(*key)
            return
        now = self.service.clock().timestamp()
        await self.store.save_operator_draft(
            *key,
            draft.dumps(),
            at=now,
            expire_before=now - DRAFT_LIFETIME.total_seconds(),
        )

    # Is it ours? -------------------------------------------------------------------------

    async def claims(self, event: Inbound) -> bool:
        """Whether a private message is an operator's work (one bot serving customers too:
        everything else an operator sends is a customer's question)."""
        if event.person.id not in self.allowed():
            return False
        key = (event.conversation, event.person.id)
        command = event.command if isinstance(event, TextMessage) else None
        return (
            (command is not None and command[0] in (*COMMANDS, "help"))
            or (isinstance(event, ButtonPressed) and event.data.startswith(PREFIX))
            or await self._draft(key) is not None
        )

    async def handles(self, event: Inbound) -> bool:
        key = (event.conversation, event.person.id)
        private = not event.conversation.startswith("-")
        command = event.command if isinstance(event, TextMessage) else None
        ours = (
            (command is not None and command[0] in COMMANDS)
            or (isinstance(event, ButtonPressed) and event.data.startswith(PREFIX))
            or private
            or (
                isinstance(event, TextMessage)
                and event.person.id in self.allowed()
                and await self._draft(key) is not None
            )
        )
        if not ours:
            return False
        feed: Feed = self.service.state.feed
        locale = self._locale(feed, event)
        if event.person.id not in self.allowed():
            log.warning(
                "telegram user %s (%s) is not on the operators' list: %s refused",
                event.person.id,
                event.person.name,
                command[0] if command else type(event).__name__,
            )
            if isinstance(event, ButtonPressed):
                await self._answer_button(event)
            await self._reply(event, say(locale, "refused"), locale)
            return True
        if not private and not self._in_operations(feed, self.staff.target_of(event.conversation)):
            await self._reply(event, say(locale, "elsewhere"), locale)
            return True
        await self._handle(event, key, feed, locale)
        return True

    @staticmethod
    def _in_operations(feed: Feed, chat: str) -> bool:
        group = alerts.group_of_chat(feed, chat)
        return group is not None and alerts.is_operations(group)

    def _locale(self, feed: Feed, event: Inbound) -> str:
        group = alerts.group_of_chat(feed, self.staff.target_of(event.conversation))
        if group is not None:
            return alerts.locale_of(feed, group)
        wanted = (event.person.locale or "")[:2]
        locales = feed.organization.locales
        return wanted if wanted in locales else feed.organization.default_locale

    async def _reply(
        self,
        event: Inbound,
        text: str,
        locale: str,
        buttons: list[list[tuple[str, str]]] | None = None,
    ) -> None:
        await self.staff.reply(event, text, locale, buttons or [])

    # The conversation --------------------------------------------------------------------

    async def _handle(self, event: Inbound, key: tuple[str, str], feed: Feed, locale: str) -> None:
        if isinstance(event, TextMessage) and event.command is not None:
            name = event.command[0]
            if name == "cancel" or name not in STEPS:
                had = isinstance(await self._draft(key), Draft)
                await self.store.drop_operator_draft(*key)
                await self._reply(event, say(locale, "cancelled" if had else "help"), locale)
                return
            fresh = Draft(name, locale, list(STEPS[name]))
            fresh.incidents = [i.id for i in feed.incidents if i.is_open]
            await self._ask(event, fresh, feed)
            await self._keep(key, fresh)
            return
        if isinstance(event, ButtonPressed):
            asked = alerts.read_prompt(feed, event.data)
            if asked is not None:  # a prompt's button: /update of that incident, at its step
                await self._answer_button(event)
                await self._start_asked(event, key, feed, locale, *asked)
                return
        draft = await self._draft(key)
        if not isinstance(draft, Draft):
            if draft == EXPIRED:
                await self.store.drop_operator_draft(*key)
            if isinstance(event, ButtonPressed):
                await self._answer_button(event)
            await self._reply(
                event, say(locale, "draft_expired") if draft else say(locale, "help"), locale
            )
            return
        if isinstance(event, ButtonPressed):
            await self._answer_button(event)
            await self._button(event, draft, feed)
        elif isinstance(event, TextMessage):
            await self._text(event, draft, feed)
        await self._keep(key, draft)

    async def _start_asked(
        self,
        event: Inbound,
        key: tuple[str, str],
        feed: Feed,
        locale: str,
        code: str,
        incident: Incident | None,
    ) -> None:
        """Start /update of `incident` where a prompt asked: at the ETA when it passed, at
        the whole update when one is overdue."""
        if incident is None or not incident.is_open:
            await self._reply(event, say(locale, "not_open"), locale)
            return
        draft = Draft("update", locale, list(ASKED_STEPS[code]), incidents=[incident.id])
        draft.values["id"] = incident.id
        await self._ask(event, draft, feed)
        await self._keep(key, draft)

    async def _answer_button(self, event: ButtonPressed) -> None:
        if event.answer_id:
            await self.staff._quietly(self.staff.adapter.telegram.answer_callback(event.answer_id))

    async def _ask(self, event: Inbound, draft: Draft, feed: Feed) -> None:
        """Ask what the step at hand needs."""
        loc = draft.locale
        step = draft.step
        if step in ("services", "areas"):
            chosen = draft.chosen.get(step, [])
            rows = [
                [(("✓ " if item_id in chosen else "") + label, f"{PREFIX}{step[0]}:{n}")]
                for n, (item_id, label) in enumerate(_choices(feed, step, loc))
            ]
            rows.append([(say(loc, "done"), f"{PREFIX}done")])
            await self._reply(event, say(loc, step), loc, rows)
        elif step == "status":
            rows = [[(status_label(s, loc), f"{PREFIX}st:{s.value}")] for s in STATUSES]
            if draft.action == "update":
                rows.append([(say(loc, "keep"), f"{PREFIX}st:-")])
            await self._reply(event, say(loc, "status"), loc, rows)
        elif step == "incident":
            if not draft.incidents:
                draft.over = True
                await self._reply(event, say(loc, "no_incidents"), loc)
                return
            rows = [[(_incident_label(feed, incident_id, loc), f"{PREFIX}i:{n}")]
                    for n, incident_id in enumerate(draft.incidents[:40])]  # fmt: skip
            await self._reply(event, say(loc, "incident"), loc, rows)
        elif step.startswith("text:"):
            name = step[5:]
            if not draft.pending_locales:
                draft.pending_locales = list(feed.organization.locales)
            language = draft.pending_locales[0]
            what = say(loc, f"field.{name}")
            text = say(loc, "text", what=what, language=LANGUAGES.get(language, language))
            if name in OPTIONAL:
                text += say(loc, "optional")
            await self._reply(event, text, loc)
        elif step.startswith("when:"):
            what = say(loc, f"field.{step[5:]}")
            await self._reply(event, say(loc, "when", what=what), loc)
        elif step == "preview":
            await self._preview(event, draft, feed)

    async def _next(self, event: Inbound, draft: Draft, feed: Feed) -> None:
        draft.steps.pop(0)
        await self._ask(event, draft, feed)

    async def _button(self, event: ButtonPressed, draft: Draft, feed: Feed) -> None:
        data = event.data[len(PREFIX) :]
        kind, _, value = data.partition(":")
        step = draft.step
        if step in ("services", "areas") and kind in ("s", "a") and kind == step[0]:
            items = _choices(feed, step, draft.locale)
            index = _index(value, len(items))
            if index is not None:
                chosen = draft.chosen.setdefault(step, [])
                item = items[index][0]
                chosen.remove(item) if item in chosen else chosen.append(item)
            await self._ask(event, draft, feed)
        elif step in ("services", "areas") and kind == "done":
            if not draft.chosen.get(step):
                await self._reply(event, say(draft.locale, "choose"), draft.locale)
                return
            await self._next(event, draft, feed)
        elif step == "status" and kind == "st":
            if value in {s.value for s in STATUSES}:
                draft.values["status"] = Status(value)
            elif value != "-":
                return
            await self._next(event, draft, feed)
        elif step == "incident" and kind == "i":
            index = _index(value, len(draft.incidents))
            if index is None or feed.incident(draft.incidents[index]) is None:
                return
            draft.values["id"] = draft.incidents[index]
            await self._next(event, draft, feed)
        elif step == "preview" and kind in ("ok", "no"):
            draft.over = True
            if kind == "no":
                await self._reply(event, say(draft.locale, "cancelled"), draft.locale)
                return
            await self._apply(event, draft, feed)
        # anything else: a button of an earlier step, pressed late; nothing to do

    async def _text(self, event: TextMessage, draft: Draft, feed: Feed) -> None:
        step, words = draft.step, event.text.strip()
        if step.startswith("text:") and draft.pending_locales and words:
            name = step[5:]
            if not (words == "-" and name in OPTIONAL):
                draft.texts.setdefault(name, {})[draft.pending_locales[0]] = words
            draft.pending_locales.pop(0)
            if draft.pending_locales:
                await self._ask(event, draft, feed)
            else:
                await self._next(event, draft, feed)
        elif step.startswith("when:") and words:
            if words != "-":
                now = self.service.clock()
                try:
                    draft.values[step[5:]] = parse_when(words, now, feed.organization.tz)
                except TimeInputError as error:
                    await self._reply(event, str(error), draft.locale)
                    return
            await self._next(event, draft, feed)
        else:
            await self._ask(event, draft, feed)  # say again what the step needs

    # Preview and apply -------------------------------------------------------------------

    def _change(self, draft: Draft, feed: Feed) -> Change:
        texts = {name: dict(values) for name, values in draft.texts.items()}
        values = dict(draft.values)
        if draft.action == "open":
            return OpenIncident(
                id=_new_id(feed, texts.get("title", {})),
                title=texts.get("title", {}),
                summary=texts.get("summary", {}),
                services=draft.chosen.get("services", []),
                areas=draft.chosen.get("areas", []),
                staff_instructions=texts.get("staff_instructions") or None,
                **values,
            )
        if draft.action == "update":
            return UpdateIncident(message=texts.get("message") or None, **values)
        return ResolveIncident(id=values["id"], message=texts.get("resolution") or None)

    async def _preview(self, event: Inbound, draft: Draft, feed: Feed) -> None:
        loc = draft.locale
        now = self.service.clock()
        try:
            change = self._change(draft, feed)
            text = self.service.state.loaded.text
            changed = apply_change(text, change, author="preview", now=now)
            preview = parse_feed(changed, "preview", self.service.registry).feed
        except (FeedError, ChangeError, ValueError) as error:
            draft.over = True
            await self._reply(event, say(loc, "invalid", error=_short(error)), loc)
            return
        incident = preview.incident(change.id)
        assert incident is not None
        blocks = [say(loc, "preview")]
        blocks += _voices(self.service.registry.renderers, preview, incident, loc, now)
        rows = [[(say(loc, "confirm"), f"{PREFIX}ok"), (say(loc, "discard"), f"{PREFIX}no")]]
        await self._reply(event, "\n\n".join(blocks)[:4000], loc, rows)

    async def _apply(self, event: Inbound, draft: Draft, feed: Feed) -> None:
        name = event.person.name or event.person.id
        author = f"telegram:{event.person.id} ({name})"
        try:
            # (Made again from the draft, as previewed: the draft is what is kept between
            # steps, across restarts.)
            change = self._change(draft, feed)
            state = await self.service.apply(change, author=author, source="telegram")
        except (FeedError, ChangeError, ValueError) as error:
            await self._reply(
                event, say(draft.locale, "invalid", error=_short(error)), draft.locale
            )
            return
        text = say(draft.locale, "recorded", revision=state.revision.number, author=author)
        await self._reply(event, text, draft.locale)


def _voices(
    renderers: Any, feed: Feed, incident: Incident, locale: str, now: dt.datetime
) -> list[str]:
    statement = build_statement(feed, incident, locale, revision=0)
    blocks = []
    for name, renderer in sorted(renderers.items()):
        try:
            overrides = feed.channels.get(name).templates
        except KeyError:
            overrides = {}
        words = renderer.render(statement, now, overrides)
        if len(words) > PREVIEW_EACH:
            words = words[: PREVIEW_EACH - 1] + "…"
        blocks.append(f"▶ {name}:\n{words}")
    return blocks


def _choices(feed: Feed, step: str, locale: str) -> list[tuple[str, str]]:
    """(id, name) of the services or the areas, the buttons of those steps."""
    if step == "services":
        return [(s.id, s.name.get(locale, s.id)) for s in feed.services]
    return [(a.id, a.name.get(locale, a.id)) for a in feed.areas]


def _index(text: str, size: int) -> int | None:
    try:
        index = int(text)
    except ValueError:
        return None
    return index if 0 <= index < size else None


def _new_id(feed: Feed, titles: dict[str, str]) -> str:
    """An incident id from its title ("Fibre down in Norte" → fibre-down-in-norte)."""
    title = titles.get("en") or next(iter(titles.values()), "incident")
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40].strip("-") or "incident"
    taken = {incident.id for incident in feed.incidents}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _short(error: Exception) -> str:
    return str(error)[:1500]


BUTTON_TEXT = 60  # characters of an incident's title on its button


def _incident_label(feed: Feed, incident_id: str, locale: str) -> str:
    """An incident's button: its title in the operator's language (the id if it is gone)."""
    incident = feed.incident(incident_id)
    if incident is None:
        return incident_id
    title = incident.title.get(locale) or incident.title[feed.organization.default_locale]
    return title if len(title) <= BUTTON_TEXT else title[: BUTTON_TEXT - 1].rstrip() + "…"
