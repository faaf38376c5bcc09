"""Mentions (pure): which incidents a post naming the account is about, and a drafted reply.

The words are read by the channel-neutral conversation (`bot.conversation`: postcodes,
area and service names with typos and accents), after the handles and links are taken
out; the language by the claims lint's detector (Spanish or English, else the account's
default). The draft tells the customer-facing facts of the incident in the mention's
language, starts with @handle and fits 280 characters as X counts them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot import conversation
from bot.claims.language import detect
from bot.feed.models import Incident
from bot.state import FeedState
from channels.x.posts import MAX_LENGTH, locales, renderer_within
from channels.x.renderer import x_length

MAX_READ = 1000  # characters of a mention read for matching (a postcode or a name is early)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,15}")
_LINK = re.compile(r"https?://\S+")
_SPANISH_MARKS = frozenset("¿¡ñáéíóú")
# The X channel's own few words around the feed's (its drafts when no incident is found).
_WORDS = {
    "es": {
        "nothing_known": "Ahora no nos consta ninguna incidencia ahí. Si algo falla,"
        " cuéntanos qué y dónde. Estado: {url}",
        "which_place": "¿Nos dices tu código postal o tu zona? Así te decimos qué pasa"
        " ahí. Estado: {url}",
    },
    "en": {
        "nothing_known": "We know of no incident there right now. If something is wrong,"
        " tell us what and where. Status: {url}",
        "which_place": "Could you tell us your postcode or area? Then we can tell you what"
        " is going on there. Status: {url}",
    },
}


@dataclass(frozen=True, slots=True)
class Match:
    locale: str
    incidents: tuple[Incident, ...]
    named_places: bool  # the words named a postcode, an area or a service
    ambiguous: bool  # they named several places of one kind (which one?)

    @property
    def unambiguous_one(self) -> bool:
        """Exactly one open incident, and no doubt which place was meant: auto-reply may go."""
        return len(self.incidents) == 1 and self.named_places and not self.ambiguous


def words_of(text: str) -> str:
    """The words of a mention without handles and links, at most MAX_READ characters."""
    return _LINK.sub(" ", _HANDLE.sub(" ", text[:MAX_READ])).strip()


def language(state: FeedState, text: str) -> str:
    """The mention's language among those X speaks: es or en by common words, else the
    default locale."""
    spoken = locales(state)
    default = state.feed.organization.default_locale
    folded = conversation.plain(text)
    found = detect(folded).locale
    if found is None and _SPANISH_MARKS.intersection(text.lower()):
        found = "es"
    if found in spoken:
        return found
    return default if default in spoken else spoken[0]


def match(state: FeedState, text: str, now: dt.datetime) -> Match:
    said = words_of(text)
    locale = language(state, said)
    understood = conversation.understand(state, said)
    places = list(understood.places)
    incidents = conversation.incidents_for(state, places, now) if places else []
    if not places and understood.choices:
        # "Centro o Sol": every incident of every place named, but not one to auto-reply to.
        seen: dict[str, Incident] = {}
        for place in understood.choices:
            for incident in conversation.incidents_for(state, [place], now):
                seen.setdefault(incident.id, incident)
        incidents = list(seen.values())
    ambiguous = bool(understood.choices)
    return Match(locale, tuple(incidents), bool(places or understood.choices), ambiguous)


def draft(state: FeedState, found: Match, handle: str | None, now: dt.datetime) -> str:
    """The reply a community manager starts from: @handle and the facts, ≤ 280."""
    say = _WORDS.get(found.locale, _WORDS["en"])
    at = f"@{handle} " if handle else ""
    room = MAX_LENGTH - x_length(at)
    url = state.feed.organization.status_page_url
    if found.incidents:
        first = found.incidents[0]
        overrides = state.feed.channels.get("x").templates
        text = renderer_within(room).render(state.statement(first.id, found.locale), now, overrides)
        return at + text
    if found.named_places:
        return at + say["nothing_known"].format(url=url)
    return at + say["which_place"].format(url=url)
