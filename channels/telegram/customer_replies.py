"""What the customer bot says, without I/O: a customer's words → the messages they get back.

Built on the channel-neutral conversation (`bot.conversation`): the same lookup and the
same customer voice the phone and the web use, so the status, the ETA or "no estimate
yet", the next update, the workaround, the apology and the human contact are the feed's,
word for word. Buttons carry short callback data (Telegram allows 64 bytes):
`a:<place>` asks about a place, `s:<place>` subscribes to it, `l:<locale>` sets the
language; a place is the store's `kind:value` (`postcode:28012`, `area:centro`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot import conversation
from bot.conversation import Place
from bot.feed.models import Feed, Status
from bot.render.engine import join_names, with_article
from bot.render.when import clock, say_when
from bot.state import FeedState
from bot.statement import Statement
from bot.store import Place as StorePlace
from bot.store import PlaceKind
from bot.words import status_label
from channels.telegram.customer_words import word
from channels.telegram.limits import MAX_CALLBACK_DATA

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f]")

Row = tuple[tuple[str, str], ...]  # (label, callback data)


@dataclass(frozen=True, slots=True)
class Said:
    """One message the bot sends, with its rows of buttons."""

    text: str
    buttons: tuple[Row, ...] = ()
    # "reply"; "forget": once sent, everything left about the chat is deleted.
    kind: str = "reply"


def clean(text: str) -> str:
    """Control and invisible characters read as spaces (a person cannot see them)."""
    return _CONTROL.sub(" ", text).strip()


def locale_for(feed: Feed, wanted: str | None) -> str:
    """The feed's locale closest to what Telegram says the person uses ("es-ES" → "es")."""
    locales = feed.organization.locales
    if wanted:
        base = wanted.lower().replace("_", "-").split("-", 1)[0]
        if base in locales:
            return base
    return feed.organization.default_locale


def store_place(place: Place) -> StorePlace:
    return StorePlace(PlaceKind(place.kind), place.id)


def conversation_place(place: StorePlace) -> Place:
    return Place(place.kind.value, place.value)


def parse_place(text: str) -> StorePlace | None:
    try:
        return StorePlace.parse(text)
    except ValueError:
        return None


def place_name(feed: Feed, place: StorePlace, locale: str) -> str:
    return conversation_place(place).name(feed, locale)


def button(label: str, data: str) -> tuple[str, str] | None:
    """A button, or None when its data would be past Telegram's 64 bytes."""
    return (label, data) if len(data.encode()) <= MAX_CALLBACK_DATA else None


def _rows(buttons: Sequence[tuple[str, str] | None]) -> tuple[Row, ...]:
    return tuple((b,) for b in buttons if b is not None)


def primary(places: Sequence[Place]) -> Place | None:
    """What "Notify me" subscribes to: the most precise place named."""
    for kind in ("postcode", "area", "service"):
        for place in places:
            if place.kind == kind:
                return place
    return None


def notify_button(place: Place | None, locale: str) -> tuple[Row, ...]:
    if place is None:
        return ()
    return _rows([button(word(locale, "notify_me"), f"s:{store_place(place)}")])


def choices(state: FeedState, options: Sequence[Place], locale: str, prefix: str) -> Said:
    """Ambiguous words: one button per place they may mean."""
    feed = state.feed
    rows = _rows(
        [button(place.name(feed, locale), f"{prefix}:{store_place(place)}") for place in options]
    )
    return Said(word(locale, "choose"), rows)


# A message made only of these is small talk: greeted back with what the bot does, or
# thanked back, rather than told "I did not catch which area you mean".
_GREETINGS = frozenset(
    """
hola buenas buenos buen dia dias tardes noches saludos hello hi hey good morning afternoon
evening there
    """.split()  # noqa: SIM905 - a word list reads best as words
)
_THANKS = frozenset(
    """
gracias muchas mil muy amable vale ok okay perfecto thanks thank you much cheers great
    """.split()  # noqa: SIM905 - a word list reads best as words
)


def small_talk(text: str) -> str | None:
    """ "greeting" or "thanks" when that is all a message says (a few words at most)."""
    said = conversation.words_of(text)
    if not said or len(said) > 5:
        return None
    if all(w in _GREETINGS for w in said):
        return "greeting"
    if all(w in _THANKS for w in said):
        return "thanks"
    return None


# A message naming no place that asks after "it" ("when will it be fixed?", "¿y ahora?")
# is about the place the person asked about a moment ago.
_FOLLOW_UP = re.compile(
    r"\?|\b(cu[aá]ndo|when|arregl|solucion|fix|funciona|work|estado|status|sigue|still|"
    r"ahora|now|hora|time|eta|vuelve|back|novedad|news|update|actualiz)",
    re.IGNORECASE,
)


def answer(
    state: FeedState,
    text: str,
    locale: str,
    now: dt.datetime,
    *,
    understood: conversation.Understood | None = None,
    earlier: Sequence[Place] = (),
    name: str | None = None,
) -> list[Said]:
    """The messages answering what a customer wrote (`earlier`: the places they asked about
    a moment ago, for a question that names none)."""
    if understood is None:
        understood = conversation.understand(state, clean(text))
    if not (understood.places or understood.choices or understood.unknown_postcode):
        talk = small_talk(text)
        if talk == "greeting":
            return [start(state.feed, locale, name)]
        if talk == "thanks":
            return [Said(word(locale, "thanks"))]
        if earlier and _FOLLOW_UP.search(text):
            understood = conversation.Understood(places=tuple(earlier))
            return answer_understood(state, understood, locale, now, choose_areas=False)
    return answer_understood(state, understood, locale, now)


def answer_place(state: FeedState, place: StorePlace, locale: str, now: dt.datetime) -> list[Said]:
    """The answer about one place (a button pressed, a choice made)."""
    understood = conversation.Understood(places=(conversation_place(place),))
    return answer_understood(state, understood, locale, now, choose_areas=False)


def answer_understood(
    state: FeedState,
    understood: conversation.Understood,
    locale: str,
    now: dt.datetime,
    *,
    choose_areas: bool = True,
) -> list[Said]:
    feed = state.feed
    if understood.choices:
        return [choices(state, understood.choices, locale, "a")]
    places = list(understood.places)
    if not places:
        if understood.unknown_postcode:
            return [Said(word(locale, "unknown_postcode", postcode=understood.unknown_postcode))]
        return [Said(word(locale, "not_understood"))]
    postcodes = [p for p in places if p.kind == "postcode"]
    if choose_areas and len(postcodes) == 1 and not any(p.kind == "area" for p in places):
        areas = conversation.postcode_choices(state, postcodes[0].id, now)
        if areas:  # a postcode in two areas that are told different things
            return [choices(state, areas, locale, "a")]
    incidents = conversation.incidents_for(state, places, now)
    notify = notify_button(primary(places), locale)
    if not incidents:
        return [Said(nothing_known(feed, places, locale, now), notify)]
    return [Said(state.render("customer", i, locale, now), notify) for i in incidents]


def nothing_known(feed: Feed, places: Sequence[Place], locale: str, now: dt.datetime) -> str:
    """ "No known problems with home fibre in Chamberí (checked at 12:02)", and where to look."""
    services = tuple(p.name(feed, locale) for p in places if p.kind == "service")
    where = tuple(with_article(p.name(feed, locale), locale) for p in places if p.kind != "service")
    key = "nothing_known_with" if services and where else "nothing_known"
    if services and not where:
        key = "nothing_known_service"
    return word(
        locale,
        key,
        place=join_names(where, locale, len(where)),
        service=join_names(services, locale, len(services)),
        time=clock(now, locale, feed.organization.tz),
        url=feed.organization.status_page_url,
    )


def human(state: FeedState, places: Sequence[Place], locale: str, now: dt.datetime) -> Said:
    """How to reach a person for the service concerned, and whether they answer now."""
    incidents = conversation.incidents_for(state, places, now) if places else []
    found = conversation.contact(state, incidents, locale, now)
    status = word(locale, "open_now" if found.open_now else "closed_now")
    return Said(word(locale, "human", phone=found.phone, hours=found.hours, open=status))


def languages(feed: Feed) -> Said:
    names = {"es": "Español", "en": "English"}
    rows = _rows([button(names.get(code, code), f"l:{code}") for code in feed.organization.locales])
    return Said(word(feed.organization.default_locale, "language_pick"), rows)


def start(feed: Feed, locale: str, first_name: str | None) -> Said:
    org = feed.organization.name.get(locale) or next(iter(feed.organization.name.values()))
    name = f", {first_name}" if first_name else ""
    return Said(word(locale, "start", name=name, org=org, help=word(locale, "help")))


def subscriptions_text(feed: Feed, places: Sequence[StorePlace], locale: str) -> str:
    if not places:
        return word(locale, "no_subscriptions")
    named = ", ".join(place_name(feed, p, locale) for p in places)
    return word(locale, "subscriptions", places=named)


def what_changed(before: Statement, after: Statement, now: dt.datetime) -> list[str]:
    """What a subscriber's update notice says changed, in `after`'s language: the status,
    the expected fix, a promise that fell due, the workaround, the areas."""
    locale = after.locale

    def when(moment: dt.datetime) -> str:
        return say_when(moment, now, locale, after.timezone)

    out: list[str] = []
    if before.status is not after.status and after.status is not Status.RESOLVED:
        out.append(
            word(
                locale,
                "changed_status",
                old=status_label(before.status, locale),
                new=status_label(after.status, locale),
            )
        )
    if after.eta_passed and not before.eta_passed and after.eta is not None:
        out.append(word(locale, "changed_eta_passed", old=when(after.eta)))
    elif before.eta != after.eta:
        if before.eta is not None and after.eta is not None:
            out.append(word(locale, "changed_eta", old=when(before.eta), new=when(after.eta)))
        elif after.eta is not None:
            out.append(word(locale, "changed_eta_new", new=when(after.eta)))
        else:
            out.append(word(locale, "changed_eta_gone"))
    if after.next_update_overdue and not before.next_update_overdue:
        out.append(word(locale, "changed_overdue"))
    if after.workaround and after.workaround != before.workaround:
        out.append(word(locale, "changed_workaround"))
    if after.area_ids != before.area_ids and after.areas:
        out.append(word(locale, "changed_areas", areas=join_names(after.areas, locale, 8)))
    return out
