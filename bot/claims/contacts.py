"""Ways to reach a person a reply gives — phone numbers, links, opening hours — and the
feed's own, to compare them with."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.claims.text import fold
from bot.feed.models import Feed, HumanContact

_NUMBER = re.compile(r"(?<![\w+/:.,-])(?:\+|00)?\d+(?:[ .-]\d+){0,5}(?![\w/%€:]|[.,]\d)")
_PHONE_CUE = re.compile(
    r"\b(?:llam\w*|telefono\w*|tel|tlf|tfno|movil|call\w*|phone\w*|ring\w*|dial\w*|marca\w*"
    r"|numero|number|whatsapp|contact\w*|n[ºo°])\W{0,3}(?:\w+\W+){0,2}$"
)
_NOT_A_PHONE_AFTER = re.compile(r"^\s*(?:h|hs|hrs|horas|hours|am|pm|gb|mb|%|€|euros?|km|min)\b")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()\[\]]+"
    r"|(?<![@\w.-])(?:[a-z0-9-]+\.)+(?:es|com|org|net|eu|info|io|app|example|cat|gal|eus)\b"
    r"(?:/[^\s<>\"'()\[\]]*)?"
)
EMERGENCY = frozenset({"112"})  # a reply may always point at emergencies

_DAY_NAMES = {
    "lun": "mon", "mar": "tue", "mie": "wed", "jue": "thu", "vie": "fri", "sab": "sat",
    "dom": "sun", "mon": "mon", "tue": "tue", "wed": "wed", "thu": "thu", "fri": "fri",
    "sat": "sat", "sun": "sun", "l": "mon", "v": "fri", "s": "sat", "d": "sun",
}  # fmt: skip
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = r"(lunes|martes|miercoles|jueves|viernes|sabados?|domingos?|mon|tue|wed|thu|fri|sat|sun)\w*"
_DAYS = re.compile(
    rf"\b(?:de\s+)?{_DAY}\s*(?:a|al|hasta|-|–|to|through|thru|till)\s*{_DAY}"
    r"|\b(?P<short1>l)\s*-\s*(?P<short2>[vsd])\b"
    r"|\b(?P<every>todos\s+los\s+dias|every\s*day|daily|7\s+dias|7\s+days|a\s+diario)\b"
    r"|\b(?P<weekdays>entre\s+semana|weekdays|dias\s+laborables)\b"
)
_ALWAYS = re.compile(
    r"\b(?:24\s*h(?:oras|rs|s)?|24/7|24x7|las\s+24\s+horas|24\s+hours|(?:a)?round\s+the\s+clock"
    r"|siempre\s+abiert\w*|always\s+open|dia\s+y\s+noche|day\s+and\s+night)(?!\w)"
)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    value: str


@dataclass(frozen=True, slots=True)
class DaysSpan:
    start: int
    end: int
    days: frozenset[str]


@dataclass(frozen=True, slots=True)
class Desk:
    """One human contact of the feed, ready to compare with."""

    contact: HumanContact
    phone: str
    url: str | None
    always_open: bool
    rules: tuple[tuple[frozenset[str], dt.time, dt.time], ...]
    known: bool  # False: hours only in words the lint does not read, so none are checked

    @classmethod
    def of(cls, contact: HumanContact) -> Desk:
        hours_text = " ".join(fold(t) for t in contact.hours.values())
        rules = tuple((frozenset(r.days), r.opens, r.closes) for r in contact.opening_hours)
        # No machine-readable hours means always open, unless the words give hours.
        always_open = bool(_ALWAYS.search(hours_text)) or (
            not rules and not re.search(r"\d", hours_text)
        )
        return cls(
            contact=contact,
            phone=phone_digits(contact.phone),
            url=normalize_url(contact.url) if contact.url else None,
            always_open=always_open,
            rules=rules,
            known=always_open or bool(rules),
        )

    def opens_at(self, hour: int, minute: int) -> bool:
        return any(o == dt.time(hour % 24, minute) for _, o, _ in self.rules)

    def closes_at(self, hour: int, minute: int) -> bool:
        wanted = dt.time(hour % 24, minute)
        return any(c == wanted for _, _, c in self.rules)

    def open_on(self, days: frozenset[str]) -> bool:
        if self.always_open:
            return days == frozenset(WEEK)
        return any(days == rule_days for rule_days, _, _ in self.rules)


def desks(feed: Feed) -> dict[str | None, Desk]:
    """The organization's desk (key None) and each service's own, by service id."""
    out: dict[str | None, Desk] = {None: Desk.of(feed.organization.human_contact)}
    for service in feed.services:
        if service.contact is not None:
            out[service.id] = Desk.of(service.contact)
    return out


def phone_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("34"):  # Spain's country code, written or not
        digits = digits[2:]
    return digits


def normalize_url(text: str) -> str:
    url = fold(text).strip().rstrip(".,;:!?)»\"'")
    url = re.sub(r"^https?://", "", url)
    url = re.sub(r"^www\.", "", url)
    url = re.split(r"[#?]", url, maxsplit=1)[0]
    return url.rstrip("/")


def find_phones(folded: str, postcodes: set[str]) -> list[Span]:
    out = []
    for match in _NUMBER.finditer(folded):
        digits = phone_digits(match[0])
        if not 3 <= len(digits) <= 13 or digits in postcodes:
            continue
        if _NOT_A_PHONE_AFTER.match(folded, match.end()):
            continue
        groups = re.split(r"[ .-]", match[0].lstrip("+"))
        if len(groups) > 1 and any(len(g) == 5 for g in groups):
            continue  # a list of postcodes
        cue = _PHONE_CUE.search(folded, max(0, match.start() - 30), match.start())
        if len(digits) >= 9 or (cue is not None and len(digits) != 5):
            out.append(Span(match.start(), match.end(), digits))
    return out


def find_urls(folded: str) -> list[Span]:
    out = []
    for match in _URL.finditer(folded):
        text = match[0].rstrip(".,;:!?)»\"'")
        out.append(Span(match.start(), match.start() + len(text), normalize_url(text)))
    return out


def find_days(folded: str) -> list[DaysSpan]:
    out = []
    for match in _DAYS.finditer(folded):
        if match["every"]:
            days = frozenset(WEEK)
        elif match["weekdays"]:
            days = frozenset(WEEK[:5])
        else:
            first = match[1] or match["short1"]
            last = match[2] or match["short2"]
            days = _day_range(_DAY_NAMES[first[:3]], _DAY_NAMES[last[:3]])
        out.append(DaysSpan(match.start(), match.end(), days))
    return out


def find_always_open(folded: str) -> list[Span]:
    return [Span(m.start(), m.end(), m[0]) for m in _ALWAYS.finditer(folded)]


def _day_range(first: str, last: str) -> frozenset[str]:
    start, end = WEEK.index(first), WEEK.index(last)
    if end < start:
        end += 7
    return frozenset(WEEK[i % 7] for i in range(start, end + 1))
