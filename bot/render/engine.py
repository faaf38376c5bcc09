"""The one place words are made: sandboxed Jinja2 templates over a statement, fitted to a limit.

A channel renderer (see `channels/base.py`) names its template and limit; this
module renders it with the facts already phrased — status word, ETA and
next-update said as times in the organization's zone — so every channel
phrases the same fact the same way.

When a text is too long it is rendered again, dropping whole things in the order
`STEPS` declares, never cutting inside a sentence or a fact: each step is a template
`level` (0 the fullest; 1 names fewer areas, "Centro y 12 zonas más"; 2 leaves out the
next-update sentence) and a budget for people's free text (`fit(text, scale)`): a text
keeps its leading whole sentences that fit `budget × scale`, or is left out whole. The
scale declares the order free text goes in: the apology (0.4) first, then the
resolution and the contact's hours (0.6), the workaround last (0.8–1.0). The title is
never dropped nor cut: its length is limited at the door (`bot.feed.models`).

`bot.render.facts.missing_facts` then says which facts a text tells whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.feed.models import Kind, Status
from bot.render.when import say_when
from bot.statement import Statement
from bot.words import status_label, words

ELLIPSIS = "…"
# (template level, free-text budget) tried in turn while a text is over its limit
# (None = untouched): free text shrinks first, then fewer area names, then no next update.
STEPS: tuple[tuple[int, int | None], ...] = (
    (0, None),
    (0, 240),
    (0, 160),
    (1, 160),
    (1, 110),
    (1, 80),
    (2, 80),
    (2, 56),
    (2, 40),
    (2, 28),
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# A sentence ends at . ! ? or … followed by a space (a decimal point or "www.x" is not an end).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def sentences(text: str) -> list[str]:
    """The sentences of a person's text, whitespace collapsed."""
    return [part for part in _SENTENCE_END.split(_SPACES.sub(" ", text).strip()) if part]


def whole_sentences(text: str, limit: int | None) -> str:
    """The leading whole sentences of `text` that fit `limit`; "" when not even the first does."""
    text = _SPACES.sub(" ", text).strip()
    if limit is None or len(text) <= limit:
        return text
    kept = ""
    for sentence in sentences(text):
        longer = f"{kept} {sentence}" if kept else sentence
        if len(longer) > limit:
            break
        kept = longer
    return kept


def shorten(text: str, limit: int | None) -> str:
    """Cut at a word boundary and mark the cut; whitespace collapsed either way."""
    text = _SPACES.sub(" ", text).strip()
    if limit is None or len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space > limit * 2 // 3:  # end on a whole word unless that loses a third of the room
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + ELLIPSIS


def speakable(text: str, locale: str) -> str:
    """Text a voice can say: no web addresses spelled out, one line."""
    return _SPACES.sub(" ", _URL.sub(words(locale)("facts.website"), text)).strip()


def join_names(names: tuple[str, ...], locale: str, most: int) -> str:
    """ "Centro, Sol y Palacio"; beyond `most`, "Centro, Sol y 12 zonas más"."""
    if not names:
        return ""
    # "and 1 more area" says less than the area's name and is no shorter.
    shown = list(names[:most]) if len(names) > most + 1 else list(names)
    rest = len(names) - len(shown)
    if rest:
        shown.append(words(locale)("facts.more_areas", n=rest))
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} {words(locale)('facts.and')} {shown[-1]}"


@lru_cache(maxsize=16)
def _articles(locale: str) -> dict[str, str]:
    pairs = (item.partition(":") for item in words(locale)("facts.articles").split())
    return {noun.casefold(): article for noun, _, article in pairs}


def with_article(name: str, locale: str) -> str:
    """A place as said after "en"/"in": "distrito Centro" → "el distrito Centro", "North
    district" → "the North district"; a proper name ("Sol") stays as it is."""
    articles = _articles(locale)
    exact = words(locale)("facts.articles_case") == "lowercase"
    found = [w.casefold() for w in name.split() if (w if exact else w.casefold()) in articles]
    if not found or name.split()[0].casefold() in set(articles.values()):
        return name
    return f"{articles[found[0]]} {name}"


def places(statement: Statement, most: int) -> tuple[str, str]:
    """(every area, with articles; those the title does not already name), joined."""
    titled = statement.title.casefold()
    names = tuple(with_article(name, statement.locale) for name in statement.areas)
    unsaid = tuple(
        name
        for name, bare in zip(names, statement.areas, strict=True)
        if bare.casefold() not in titled
    )
    return join_names(names, statement.locale, most), join_names(unsaid, statement.locale, most)


@dataclass(frozen=True, slots=True)
class Phrases:
    """The facts of a statement, phrased once for every channel."""

    status: str
    eta: str | None
    eta_passed: bool
    no_eta: str
    next_update: str | None
    next_update_overdue: bool
    started: str
    resolved: str | None
    window_start: str | None
    window_end: str | None


def phrase_facts(statement: Statement, now: dt.datetime) -> Phrases:
    """The facts of `statement` as told at `now` (a maintenance's window decides its state)."""
    return _phrase_facts(statement.as_of(now), now)


@lru_cache(maxsize=2048)  # every channel phrases the same statement at the same moment
def _phrase_facts(statement: Statement, now: dt.datetime) -> Phrases:
    def when(moment: dt.datetime | None) -> str | None:
        if moment is None:
            return None
        return say_when(moment, now, statement.locale, statement.timezone)

    eta = statement.eta
    if eta is None and statement.kind is Kind.MAINTENANCE:
        eta = statement.maintenance_ends_at  # a maintenance's end is its honest ETA
    open_ = statement.status is not Status.RESOLVED
    next_update = statement.next_update_by
    # A time is passed once the scheduler said so (every channel switches in that revision),
    # or once it is behind `now` (a preview, or a clock a channel reads between revisions).
    return Phrases(
        status=status_label(statement.status, statement.locale),
        eta=when(eta) if open_ else None,
        eta_passed=open_ and eta is not None and (statement.eta_passed or eta < now),
        no_eta=words(statement.locale)("facts.no_eta"),
        next_update=when(next_update) if open_ else None,
        next_update_overdue=open_
        and next_update is not None
        and (statement.next_update_overdue or next_update < now),
        started=when(statement.started_at) or "",
        resolved=when(statement.resolved_at),
        window_start=when(statement.maintenance_starts_at),
        window_end=when(statement.maintenance_ends_at),
    )


_OPTIONS: dict[str, Any] = {
    "autoescape": False,  # plain text; each channel escapes for where it lands (HTML, XML…)
    "undefined": StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": False,
    "auto_reload": False,  # templates ship with the code: no stat() of the file on every render
}
# The shared pieces (`_facts.<locale>.j2`) every channel's templates include.
_CORE = PackageLoader("bot.render", "templates")
# Our own templates are trusted code; templates written in the feed run sandboxed.
_sandbox = ImmutableSandboxedEnvironment(loader=_CORE, **_OPTIONS)


@lru_cache(maxsize=32)
def _builtin(package: str) -> Environment:
    """The templates a channel ships in its package's `templates/`, beside the core's."""
    loader = _CORE if package == "bot.render" else ChoiceLoader([PackageLoader(package), _CORE])
    return Environment(loader=loader, **_OPTIONS)


@lru_cache(maxsize=256)
def _from_source(source: str) -> Template:
    return _sandbox.from_string(source)


@lru_cache(maxsize=64)
def _builtin_template(package: str, name: str) -> Template:
    return _builtin(package).get_template(name)


def template(
    channel: str,
    locale: str,
    overrides: Mapping[str, str] | None = None,
    *,
    package: str = "bot.render",
) -> Template:
    """The feed's override for this channel and locale if any, else the built-in template
    (`<channel>.<locale>.j2` in `package`'s templates)."""
    if overrides and locale in overrides:
        return _from_source(overrides[locale])
    return _builtin_template(package, f"{channel}.{locale}.j2")


def render_fitted(
    tmpl: Template,
    statement: Statement,
    now: dt.datetime,
    *,
    max_length: int,
    length: Callable[[str], int] = len,
    levels: int = 3,
    clean: Callable[[str], str] = lambda text: text,
    single_line: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render at increasing compactness until the text fits `max_length` (as `length` counts)."""
    statement = statement.as_of(now)
    phrases = phrase_facts(statement, now)
    text = ""
    for step, budget in STEPS:
        level = min(step, levels - 1)
        text = _render_once(tmpl, statement, phrases, level, budget, clean, extra)
        text = _layout(text, single_line)
        if length(text) <= max_length:
            return text
    # Only a template override (or a title longer than the feed allows) gets here: drop
    # whole sentences from the end; a cut, marked as such, is the very last resort.
    parts = sentences(text) if single_line else text.splitlines()
    while len(parts) > 1 and length(text) > max_length:
        parts.pop()
        text = (" " if single_line else "\n").join(parts)
    while length(text) > max_length:
        text = shorten(text, len(text) - (length(text) - max_length) - 1)
    return text


def _render_once(
    tmpl: Template,
    statement: Statement,
    phrases: Phrases,
    level: int,
    budget: int | None,
    clean: Callable[[str], str],
    extra: Mapping[str, Any] | None,
) -> str:
    locale = statement.locale

    def fit(text: str | None, scale: float = 1.0) -> str:
        """A person's text whole, or its leading whole sentences within the budget, or ""."""
        if not text:
            return ""
        if text == statement.title:  # never dropped, never cut (limited in length at the door)
            return _SPACES.sub(" ", clean(text)).strip()
        return whole_sentences(clean(text), None if budget is None else int(budget * scale))

    most = (8, 3, 1)[min(level, 2)]
    all_places, places_unsaid = places(statement, most)
    context: dict[str, Any] = {
        # After "en"/"in", with articles; `places_unsaid` leaves out what the title names.
        "places": all_places,
        "places_unsaid": places_unsaid,
        "s": statement,
        "f": phrases,
        "level": level,
        "fit": fit,
        # Names are facts: fewer of them by level ("Centro y 12 zonas más"), never cut.
        "areas": join_names(statement.areas, locale, most),
        "services": join_names(statement.services, locale, most),
        **(extra or {}),
    }
    return tmpl.render(context)


_BLANK_RUNS = re.compile(r"\n{3,}")


def _layout(text: str, single_line: bool) -> str:
    """Templates write one sentence per line; short channels read them as one paragraph."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if single_line:
        return " ".join(line for line in lines if line)
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))


@dataclass(frozen=True, slots=True)
class FactSentences:
    """The time facts as the shared sentences every channel says ("Expected fix: today at
    6:00 PM.", "The update due 2:30 PM is late: …"), for places that show facts one by one."""

    when_fixed: str
    next_update: str | None


@lru_cache(maxsize=16)
def _sentences_template(locale: str) -> Template:
    source = (
        f'{{% import "_facts.{locale}.j2" as facts %}}'
        "{{ facts.when_fixed(s, f) }}\n{{ facts.next_update(f) }}"
    )
    return _builtin("bot.render").from_string(source)


def fact_sentences(statement: Statement, now: dt.datetime) -> FactSentences:
    statement = statement.as_of(now)
    phrases = phrase_facts(statement, now)
    when_fixed, _, next_update = (
        _sentences_template(statement.locale).render(s=statement, f=phrases).partition("\n")
    )
    return FactSentences(when_fixed.strip(), next_update.strip() or None)
