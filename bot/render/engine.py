"""The one place words are made: sandboxed Jinja2 templates over a statement, fitted to a limit.

A channel renderer (see `channels/base.py`) names its template and limit; this
module renders it with the facts already phrased — status word, ETA and
next-update said as times in the organization's zone — so every channel
phrases the same fact the same way.

When a text is too long it is rendered again, dropping whole things in the order
`DROP_ORDER` declares, never cutting inside a sentence or a fact: people's free text
loses its last sentence, then the one before, until it is left out whole — the apology
first, then the resolution, the summary, the contact's hours and the latest update; then
fewer area names ("Centro y 12 zonas más", template level 1); then the workaround down to
its first sentence; then the next-update sentence (level 2); the workaround's first
sentence last. The title is never dropped nor cut: its length is limited at the door
(`bot.feed.models`). A template asks for free text with `fit(text)`.

Each step drops its fact to its floor at once; once the text fits, what was dropped comes
back, latest first, as far as it fits — whole, or its leading sentences. A render is made
once: a state differing only in facts the template does not say reuses it (`_Drafts`).

`bot.render.facts.missing_facts` then says which facts a text tells whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, MutableMapping
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
# What goes, in turn, while a text is over its limit: a free-text fact (down to a number of
# sentences kept) or a template level (1: fewer area names; 2: no next-update sentence).
DROP_ORDER: tuple[tuple[str, int], ...] = (
    ("apology", 0),
    ("resolution", 0),
    ("summary", 0),
    ("hours", 0),
    ("latest_update", 0),
    ("level", 1),
    ("workaround", 1),
    ("level", 2),
    ("workaround", 0),
    ("staff_instructions", 0),
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# A sentence ends at . ! ? or … followed by a space (a decimal point or "www.x" is not an end).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def sentences(text: str) -> list[str]:
    """The sentences of a person's text, whitespace collapsed."""
    return list(_sentences(text))


@lru_cache(maxsize=4096)  # every channel fits the same texts
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(part for part in _SENTENCE_END.split(_SPACES.sub(" ", text).strip()) if part)


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


def places(statement: Statement, most: int) -> tuple[str, str, str]:
    """Every area with its article; those the title does not already name, with and without
    articles — joined ("el distrito Centro y Sol")."""
    return _places(statement.title, statement.areas, statement.locale, most)


# Every channel names the same places of a statement, and at each level it renders.
@lru_cache(maxsize=4096)
def _places(title: str, areas: tuple[str, ...], locale: str, most: int) -> tuple[str, str, str]:
    titled = title.casefold()
    unsaid = tuple(name for name in areas if name.casefold() not in titled)
    return (
        join_names(tuple(with_article(n, locale) for n in areas), locale, most),
        join_names(tuple(with_article(n, locale) for n in unsaid), locale, most),
        join_names(unsaid, locale, most),
    )


# Every channel joins the same names of a statement, and at each level it renders.
_join_names = lru_cache(maxsize=4096)(join_names)


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


class _PlainGlobals:
    """A template's globals as one dict, not Jinja's ChainMap over the environment's: every
    render copies them and every `{% import %}` compares them, in Python through a ChainMap
    (a quarter of a short render's time). Ours are set once, before any template loads, as
    Jinja asks; a template's own globals still overlay them."""

    globals: dict[str, Any]

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class _Trusted(_PlainGlobals, Environment):
    """Our own templates: trusted code."""


class _Sandboxed(_PlainGlobals, ImmutableSandboxedEnvironment):
    """Templates written in the feed."""


_sandbox = _Sandboxed(loader=_CORE, **_OPTIONS)


@lru_cache(maxsize=32)
def _builtin(package: str) -> Environment:
    """The templates a channel ships in its package's `templates/`, beside the core's."""
    loader = _CORE if package == "bot.render" else ChoiceLoader([PackageLoader(package), _CORE])
    return _Trusted(loader=loader, **_OPTIONS)


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
    """Render, dropping whole sentences and facts in `DROP_ORDER`, until the text fits
    `max_length` (as `length` counts)."""
    statement = statement.as_of(now)
    phrases = phrase_facts(statement, now)
    texts = _free_texts(statement, clean)

    def render(level: int, kept: Mapping[str, int], read: dict[str, int]) -> str:
        said = _render_once(tmpl, statement, phrases, level, texts, kept, read, clean, extra)
        return _layout(said, single_line)

    drafts = _Drafts(render, lambda text: length(text) <= max_length, levels)
    whole = {name: len(parts) for name, parts in texts.values()}
    kept = dict(whole)
    level = 0
    text, fits = drafts.draft(level, kept)
    if fits:
        return text
    # Each step drops its fact down to its floor at once; what fits of it comes back below.
    for name, floor in DROP_ORDER:
        if name == "level":
            if not level < floor < levels:
                continue
            level = floor
        elif kept.get(name, 0) > floor:
            kept[name] = floor
        else:
            continue
        text, fits = drafts.draft(level, kept)
        if fits:
            return _give_back(drafts, level, kept, whole, text)
    # Only a template override (or a title longer than the feed allows) gets here: drop
    # whole sentences from the end; a cut, marked as such, is the very last resort.
    parts = sentences(text) if single_line else text.splitlines()
    while len(parts) > 1 and length(text) > max_length:
        parts.pop()
        text = (" " if single_line else "\n").join(parts)
    while length(text) > max_length:
        text = shorten(text, len(text) - (length(text) - max_length) - 1)
    return text


def _give_back(
    drafts: _Drafts, level: int, kept: dict[str, int], whole: Mapping[str, int], text: str
) -> str:
    """Give back, latest dropped first, whatever still fits (a long workaround that went
    whole must not take the next update with it): a fact whole if it fits, else as many of
    its leading sentences as fit, found by halving (a sentence more is never shorter)."""
    for back, _ in reversed(DROP_ORDER):
        if back == "level":
            while level > 0:
                candidate, fits = drafts.draft(level - 1, kept)
                if not fits:
                    break
                level, text = level - 1, candidate
            continue
        fitting, too_many = kept.get(back, 0), whole.get(back, 0) + 1
        trial = too_many - 1  # the whole fact first
        while too_many - fitting > 1:
            kept[back] = trial
            candidate, fits = drafts.draft(level, kept)
            if fits:
                fitting, text = trial, candidate
            else:
                too_many = trial
            trial = (fitting + too_many) // 2
        if back in kept:
            kept[back] = fitting
    return text


class _Drafts:
    """One statement's renders, each made once, by level and sentences kept of each fact.

    A render reads only the facts its template says (through `fit`), so a state keeping as
    many sentences of those gives the same text: dropping or giving back a fact that the
    template does not say, at that level, costs no render.
    """

    def __init__(
        self,
        render: Callable[[int, Mapping[str, int], dict[str, int]], str],
        fits: Callable[[str], bool],
        levels: int,
    ) -> None:
        self.render, self.fits, self.levels = render, fits, levels
        self.made: list[tuple[int, dict[str, int], str, bool]] = []

    def draft(self, level: int, kept: Mapping[str, int]) -> tuple[str, bool]:
        """The text at `level` keeping `kept` sentences of each fact, and whether it fits."""
        level = min(level, self.levels - 1)
        for made_level, read, text, fits in self.made:
            if made_level == level and all(kept[name] == n for name, n in read.items()):
                return text, fits
        read = {}
        text = self.render(level, kept, read)
        fits = self.fits(text)
        self.made.append((level, read, text, fits))
        return text, fits


def _free_texts(
    statement: Statement, clean: Callable[[str], str]
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """People's free text in the statement, by its raw text: (fact name, its sentences)."""
    fields = {
        "apology": statement.apology,
        "resolution": statement.resolution,
        "summary": statement.summary,
        "hours": statement.contact.hours,
        "latest_update": statement.latest_update,
        "workaround": statement.workaround,
        "staff_instructions": statement.staff_instructions,
    }
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, text in fields.items():
        if text and text not in out and text != statement.title:
            out[text] = (name, _sentences(clean(text)))
    return out


def _render_once(
    tmpl: Template,
    statement: Statement,
    phrases: Phrases,
    level: int,
    texts: Mapping[str, tuple[str, tuple[str, ...]]],
    kept: Mapping[str, int],
    read: dict[str, int],
    clean: Callable[[str], str],
    extra: Mapping[str, Any] | None,
) -> str:
    """The template rendered once; `read` gets how many sentences of each fact it said."""
    locale = statement.locale

    def fit(text: str | None, scale: float = 1.0) -> str:
        """A person's text as far as it is kept: whole, its leading sentences, or "". The
        title, and text the statement does not hold (a template's own), are said whole.
        (`scale`: what older templates passed; the order is `DROP_ORDER`'s.)"""
        if not text:
            return ""
        found = texts.get(text)
        if found is None:
            return _SPACES.sub(" ", clean(text)).strip()
        name, parts = found
        read[name] = count = kept.get(name, len(parts))
        return " ".join(parts[:count])

    most = (8, 3, 1)[min(level, 2)]
    all_places, places_unsaid, areas_unsaid = places(statement, most)
    context: dict[str, Any] = {
        # After "en"/"in", with articles; the `_unsaid` ones leave out what the title names.
        "places": all_places,
        "places_unsaid": places_unsaid,
        "areas_unsaid": areas_unsaid,
        "s": statement,
        "f": phrases,
        "level": level,
        "fit": fit,
        # Names are facts: fewer of them by level ("Centro y 12 zonas más"), never cut.
        "areas": _join_names(statement.areas, locale, most),
        "services": _join_names(statement.services, locale, most),
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
