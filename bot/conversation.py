"""The conversation: what a person who asks is told, the same on the phone and in the bots.

Channel-neutral and pure (no I/O): it reads what the person said (a postcode, an
area or service in their own words, with or without accents, with small typos, or
a sentence holding one), finds the incidents affecting it, words them in the
asking channel's voice, and says how to reach a human for *that* service and
whether someone answers now. Subscribing and handing over to a person build on it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from bot.feed.lookup import normalize_postcode
from bot.feed.models import Feed, HumanContact, Incident
from bot.state import FeedState
from bot.statement import human_contact  # the one rule, shared with every channel

__all__ = ["human_contact"]

PlaceKind = Literal["postcode", "area", "service"]

# Words that name no place or service by themselves ("distrito Centro" is found by "centro").
_FILLER = frozenset(
    """
a al de del el la las los lo en y e o u un una mi mis su sus por para con sin que the of
and in on at to my our your for with no not is are distrito district zona zone area
barrio servicio servicios service services
    """.split()  # noqa: SIM905 - a word list reads best as words
)
_WANTS_HUMAN = (
    "persona",
    "humano",
    "human",
    "agente",
    "agent",
    "operador",
    "operator",
    "hablar con alguien",
    "talk to someone",
    "speak to someone",
    "real person",
)
_POSTCODE = re.compile(r"(?<![0-9])[0-9]{5}(?![0-9])")
_WORD = re.compile(r"[a-z0-9]+")
TYPO_SCORE = 84  # rapidfuzz ratio at or above which two words are the same word misspelt
MAX_TEXT = 1000  # characters of a message read: a postcode or a name is near its start


def plain(text: str) -> str:
    """Lower case, accents and punctuation gone: "Chamberí," → "chamberi"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words_of(text: str) -> list[str]:
    return _WORD.findall(plain(text[:MAX_TEXT]))


@dataclass(frozen=True, slots=True)
class Place:
    kind: PlaceKind
    id: str  # an area or service id, or the postcode itself

    def name(self, feed: Feed, locale: str) -> str:
        if self.kind == "area":
            area = next((a for a in feed.areas if a.id == self.id), None)
            return area.name.get(locale, self.id) if area else self.id
        if self.kind == "service":
            service = next((s for s in feed.services if s.id == self.id), None)
            return service.name.get(locale, self.id) if service else self.id
        return self.id


@dataclass(frozen=True, slots=True)
class Understood:
    """What a message names: the places found, or the choices when it is ambiguous."""

    places: tuple[Place, ...] = ()
    choices: tuple[Place, ...] = ()
    unknown_postcode: str | None = None
    wants_human: bool = False


@dataclass(frozen=True, slots=True)
class Contact:
    phone: str
    hours: str
    url: str | None
    open_now: bool


@dataclass(frozen=True, slots=True)
class Answer:
    understood: Understood
    incidents: tuple[Incident, ...]
    texts: tuple[str, ...]  # the asking channel's words, one per incident
    contact: Contact
    checked_at: dt.datetime

    @property
    def nothing_known(self) -> bool:
        return bool(self.understood.places) and not self.incidents


# Naming things ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Name:
    place: Place
    words: tuple[str, ...]  # the distinctive words of one of its names


_NAMES: dict[int, tuple[Feed, tuple[_Name, ...]]] = {}


def _names(feed: Feed) -> tuple[_Name, ...]:
    """Every area's and service's distinctive words, in every locale, built once per feed
    (feeds are frozen but not hashable: kept by identity, the feed itself held with them)."""
    cached = _NAMES.get(id(feed))
    if cached is not None and cached[0] is feed:
        return cached[1]
    names = _build_names(feed)
    if len(_NAMES) > 16:
        _NAMES.clear()
    _NAMES[id(feed)] = (feed, names)
    return names


def _build_names(feed: Feed) -> tuple[_Name, ...]:
    common = set(_FILLER)
    for name in feed.organization.name.values():
        common.update(words_of(name))  # "Almenara" names the city, not a service
    out: list[_Name] = []
    for kind, items in (("area", feed.areas), ("service", feed.services)):
        for item in items:
            for text in {*item.name.values(), item.id.replace("-", " ")}:
                distinctive = tuple(w for w in words_of(text) if w not in common)
                if distinctive:
                    out.append(_Name(Place(kind, item.id), distinctive))  # type: ignore[arg-type]
    return tuple(out)


def _same_word(said: str, known: str) -> bool:
    if said == known:
        return True
    if min(len(said), len(known)) < 5:  # "sol" is not "son": short words must be exact
        return False
    return fuzz.ratio(said, known) >= TYPO_SCORE


def understand(state: FeedState, text: str) -> Understood:
    """The places a message names: postcodes first, then area and service names."""
    feed = state.feed
    lowered = plain(text[:MAX_TEXT])
    wants_human = any(phrase in lowered for phrase in _WANTS_HUMAN)
    said = [w for w in words_of(text) if w not in _FILLER]
    places: list[Place] = []
    choices: list[Place] = []
    unknown: str | None = None
    for postcode in _POSTCODE.findall(lowered):
        key = normalize_postcode(postcode)
        if state.lookup.knows_postcode(key):
            places.append(Place("postcode", key))
        elif unknown is None:
            unknown = key
    for kind in ("area", "service"):
        best = _best(feed, said, kind)
        if len(best) == 1:
            places.append(best[0])
        elif best:
            choices.extend(best)
    if any(p.kind == "area" for p in places):  # an area named beats the postcode's areas
        places = [p for p in places if p.kind != "postcode"] + [
            p for p in places if p.kind == "postcode"
        ]
    return Understood(tuple(places), tuple(choices), unknown, wants_human)


def _best(feed: Feed, said: Sequence[str], kind: str) -> list[Place]:
    """The places of `kind` whose names share the most words with what was said."""
    scores: dict[Place, int] = {}
    for name in _names(feed):
        if name.place.kind != kind:
            continue
        hits = sum(1 for known in name.words if any(_same_word(w, known) for w in said))
        if hits:
            scores[name.place] = max(scores.get(name.place, 0), hits)
    if not scores:
        return []
    top = max(scores.values())
    return sorted((p for p, s in scores.items() if s == top), key=lambda p: p.id)


# Answering -------------------------------------------------------------------------------


def incidents_for(state: FeedState, places: Sequence[Place], now: dt.datetime) -> list[Incident]:
    """The current incidents affecting every place named (a service and an area: both)."""
    found: list[Incident] | None = None
    for place in places:
        if place.kind == "postcode":
            these = state.lookup.for_postcode(place.id, now)
        elif place.kind == "area":
            these = state.lookup.for_area(place.id, now)
        else:
            these = state.lookup.for_service(place.id, now)
        ids = {i.id for i in these}
        found = these if found is None else [i for i in found if i.id in ids]
    return found or []


def postcode_choices(state: FeedState, postcode: str, now: dt.datetime) -> list[Place]:
    """The areas a postcode lies in, when they do not share the same incidents."""
    areas = state.lookup.areas_of_postcode.get(normalize_postcode(postcode), [])
    told = {tuple(i.id for i in state.lookup.for_area(a, now)) for a in areas}
    return [Place("area", a) for a in areas] if len(told) > 1 else []


def is_open(contact: HumanContact, now: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether someone answers now (no opening hours listed: always)."""
    if not contact.opening_hours:
        return True
    local = now.astimezone(tz)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    return any(
        day in slot.days and slot.opens <= local.time() < slot.closes
        for slot in contact.opening_hours
    )


def contact(
    state: FeedState, incidents: Sequence[Incident], locale: str, now: dt.datetime
) -> Contact:
    feed = state.feed
    chosen = human_contact(feed, incidents)
    hours = chosen.hours.get(locale) or chosen.hours[feed.organization.default_locale]
    return Contact(chosen.phone, hours, chosen.url, is_open(chosen, now, feed.organization.tz))


def answer(state: FeedState, text: str, locale: str, now: dt.datetime, *, voice: str) -> Answer:
    """What the person is told: each incident affecting what they named, in `voice`."""
    understood = understand(state, text)
    places = list(understood.places)
    if not understood.choices and len([p for p in places if p.kind == "postcode"]) == 1:
        postcode = next(p.id for p in places if p.kind == "postcode")
        if not any(p.kind == "area" for p in places):
            choices = postcode_choices(state, postcode, now)
            if choices:
                understood = Understood(
                    understood.places, tuple(choices), None, understood.wants_human
                )
    incidents = incidents_for(state, places, now) if places else []
    texts = tuple(state.render(voice, incident, locale, now) for incident in incidents)
    return Answer(understood, tuple(incidents), texts, contact(state, incidents, locale, now), now)
