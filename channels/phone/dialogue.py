"""The phone dialogue as data: what the line says and asks at each step, whatever the platform.

`Step`s are rendered as TwiML or VoiceXML (`markup.py`), so a caller on Twilio and a
caller on another IVR hear the same words — the IVR renderer's, the same facts as
the banner for their area. What callers are told about their area and who answers
when they press 0 come from the channel-neutral conversation (`bot.conversation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bot import conversation
from bot.channel import options_of
from bot.feed.models import Incident, Kind
from bot.render.engine import speakable
from bot.state import FeedState
from bot.words import words
from channels.phone.options import PhoneOptions

# What a general announcement may take: about 20 seconds of speech.
GENERAL_MAX_CHARS = 300
POSTCODE_DIGITS = 5

LANGUAGE_TAGS = {"es": "es-ES", "en": "en-GB"}


@dataclass(frozen=True)
class Spoken:
    """Words in another language than the step's, said in that language's own voice."""

    text: str
    locale: str
    voice: str | None

    @property
    def language(self) -> str:
        return LANGUAGE_TAGS.get(self.locale, self.locale)


@dataclass(frozen=True)
class Gather:
    prompt: list[str]
    action: str
    max_digits: int = POSTCODE_DIGITS
    # "For English, press nine": after the prompt, in English, in the English voice.
    other_language: Spoken | None = None


@dataclass(frozen=True)
class Step:
    locale: str
    voice: str | None
    say: list[str] = field(default_factory=list)
    gather: Gather | None = None
    dial: str | None = None
    redirect: str | None = None
    hangup: bool = False

    @property
    def language(self) -> str:
        return LANGUAGE_TAGS.get(self.locale, self.locale)


@dataclass(frozen=True)
class Links:
    """Where the next steps live: `/ivr/menu` (TwiML) or `/ivr/menu.vxml` (VoiceXML)."""

    prefix: str = "/ivr"
    extension: str = ""

    def __call__(self, step: str, **query: object) -> str:
        return f"{self.prefix}/{step}{self.extension}?{urlencode(query)}"


def _words(locale: str) -> dict[str, str]:
    return words(locale).section("phone")


def _voice(state: FeedState, locale: str) -> str | None:
    return options_of(state.feed, "ivr", PhoneOptions).voices.get(locale)


def _other_locale(state: FeedState, locale: str) -> str | None:
    others = [code for code in state.feed.organization.locales if code != locale]
    return others[0] if others else None


def general(state: FeedState, locale: str, now: dt.datetime) -> str:
    """What is wrong, in general, and the organization's apology (every caller hears it, so
    not one incident's own): under about 20 seconds of speech. Titles are said whole; those
    that do not fit are counted ("y 3 más"), never cut."""
    words = _words(locale)
    current = [i for i in state.lookup.current(now) if i.kind is Kind.INCIDENT]
    if not current:
        return words["none"]
    org = state.feed.organization
    apology = speakable(org.apology.get(locale) or org.apology[org.default_locale], locale)
    titles = [speakable(state.statement(i.id, locale).title, locale) for i in current]
    template = words["one"] if len(titles) == 1 else words["some"]
    text = ""
    for shown in range(len(titles), 0, -1):
        listed = "; ".join(titles[:shown])
        if shown < len(titles):
            listed += " " + words["more"].format(n=len(titles) - shown)
        text = f"{template.format(count=len(titles), titles=listed)} {apology}"
        if len(text) <= GENERAL_MAX_CHARS:
            return text
    return (
        text
        if len(text) <= GENERAL_MAX_CHARS
        else words["some"].format(count=len(titles), titles=words["more"].format(n=len(titles)))
    )


def postcode_digits(state: FeedState) -> int:
    """How many keys a postcode takes: the feed's longest (its `postcode_pattern` decides)."""
    return state.lookup.postcode_length or POSTCODE_DIGITS


def _menu(state: FeedState, locale: str, base: Links) -> Gather:
    words = _words(locale)
    other = _other_locale(state, locale)
    offer = Spoken(words["other_language"], other, _voice(state, other)) if other else None
    return Gather(
        prompt=[words["menu"]],
        action=base("menu", lang=locale),
        max_digits=postcode_digits(state),
        other_language=offer,
    )


MAX_TRIES = 3


def welcome(
    state: FeedState, locale: str, now: dt.datetime, base: Links, *, tries: int = 0
) -> Step:
    """The call's first words (the general announcement), then the menu; on silence, the
    menu again, and after a few silences, goodbye."""
    words = _words(locale)
    voice = _voice(state, locale)
    if tries >= MAX_TRIES:
        return Step(locale, voice, say=[words["goodbye"]], hangup=True)
    return Step(
        locale=locale,
        voice=voice,
        say=[general(state, locale, now)] if tries == 0 else [words["no_input"]],
        gather=_menu(state, locale, base),
        redirect=base("voice", lang=locale, tries=tries + 1),
    )


def human(
    state: FeedState,
    locale: str,
    now: dt.datetime,
    base: Links,
    incidents: Sequence[Incident] = (),
) -> Step:
    """Put the caller through to a person: the desk of the service they just heard about
    (the same contact every channel gives), or say when it opens."""
    desk = conversation.contact(state, incidents, locale, now)
    words = _words(locale)
    if desk.open_now:
        return Step(locale, _voice(state, locale), say=[words["connecting"]], dial=desk.phone)
    return Step(
        locale,
        _voice(state, locale),
        say=[words["closed"].format(hours=desk.hours), words["goodbye"]],
        hangup=True,
    )


def menu(
    state: FeedState,
    locale: str,
    digits: str,
    now: dt.datetime,
    base: Links,
    *,
    callbacks: bool = False,
) -> Step:
    """What a key press (or a postcode) at the main menu leads to."""
    words = _words(locale)
    voice = _voice(state, locale)
    digits = "".join(ch for ch in digits if ch.isdigit())[: postcode_digits(state)]
    if digits == "0":
        return human(state, locale, now, base)
    other = _other_locale(state, locale)
    if digits == "9" and other:
        return Step(locale, voice, redirect=base("voice", lang=other))
    if not digits:
        return welcome(state, locale, now, base, tries=1)
    if not state.lookup.knows_postcode(digits):
        return Step(
            locale,
            voice,
            say=[words["unknown_postcode"].format(digits=" ".join(digits))],
            gather=_menu(state, locale, base),
            redirect=base("voice", lang=locale, tries=1),
        )
    return area(state, locale, digits, now, base, callbacks=callbacks)


def area(
    state: FeedState,
    locale: str,
    postcode: str,
    now: dt.datetime,
    base: Links,
    *,
    callbacks: bool = False,
) -> Step:
    """The announcement for the caller's area: the IVR renderer's words, incident by incident;
    with callbacks on, the offer to be called back when it is fixed."""
    words = _words(locale)
    incidents = state.lookup.for_postcode(postcode, now)
    if incidents:
        said = [state.render("ivr", i, locale, now) for i in incidents]
    else:
        said = [words["nothing_here"]]
    offer = [words["callback_offer"]] if callbacks and incidents else []
    return Step(
        locale,
        _voice(state, locale),
        say=said,
        gather=Gather(
            prompt=[*offer, words["area_menu"]],
            action=base("area", lang=locale, postcode=postcode),
            max_digits=1,
        ),
        redirect=base("voice", lang=locale, tries=1),
    )


def area_menu(
    state: FeedState,
    locale: str,
    postcode: str,
    digits: str,
    now: dt.datetime,
    base: Links,
    *,
    callbacks: bool = False,
) -> Step:
    if digits == "0":
        return human(state, locale, now, base, state.lookup.for_postcode(postcode, now))
    return area(state, locale, postcode, now, base, callbacks=callbacks)


def callback_confirmed(state: FeedState, locale: str) -> Step:
    words = _words(locale)
    return Step(
        locale, _voice(state, locale), say=[words["callback_done"], words["goodbye"]], hangup=True
    )
