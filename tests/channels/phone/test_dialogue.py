"""The dialogue's own rules: opening hours, and the general announcement's length."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.conversation import is_open
from bot.feed.loader import LoadedFeed, load_feed
from bot.feed.models import HumanContact
from bot.state import FeedState
from bot.store import RevisionRecord
from channels.phone.dialogue import Links, area_menu, general
from tests.conftest import MADRID, NOON

# The example feed's first evening: the general line (8 to 20) closed, the fibre desk open.
NIGHT = dt.datetime(2026, 11, 24, 22, 0, tzinfo=MADRID)
CONTACT = HumanContact.model_validate(
    {
        "phone": "010",
        "hours": {"es": "de 8 a 20", "en": "8 to 8"},
        "opening_hours": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "08:00", "closes": "20:00"}
        ],
    }
)


def test_opening_hours_are_read_in_the_organizations_zone() -> None:
    tuesday_noon = dt.datetime(2026, 11, 24, 12, 0, tzinfo=MADRID)
    assert is_open(CONTACT, tuesday_noon, MADRID)
    # 19:30 UTC is 20:30 in Madrid: closed, although it is before 20:00 in UTC.
    assert not is_open(CONTACT, dt.datetime(2026, 11, 24, 19, 30, tzinfo=dt.UTC), MADRID)
    assert not is_open(CONTACT, dt.datetime(2026, 11, 28, 12, 0, tzinfo=MADRID), MADRID)
    always = CONTACT.model_copy(update={"opening_hours": []})
    assert is_open(always, dt.datetime(2026, 11, 28, 3, 0, tzinfo=MADRID), MADRID)


def test_the_general_announcement_stays_short_with_many_long_titles(
    small_feed: LoadedFeed,
) -> None:
    text = small_feed.text.replace(
        "title: {es: Renovación de permisos caída, en: Permit renewal down}",
        "title: {es: '" + ("Muy largo " * 8).strip() + "', en: long}",
    )
    from bot.feed.loader import parse_feed

    loaded = parse_feed(text)
    record = RevisionRecord(1, loaded.content_hash, "t", "file", NOON, text)
    said = general(FeedState.build(loaded, record), "es", NOON)
    assert len(said) <= 300 and said.startswith("Le informamos de una incidencia en curso")


def test_pressing_zero_after_an_area_reaches_the_desk_just_announced() -> None:
    """A caller in 28029 hears about the fibre outage, whose desk answers day and night:
    0 dials that desk, at night too, not the general line that is closed."""
    loaded = load_feed(Path(__file__).parents[3] / "status_feed.yaml")
    state = FeedState.build(loaded, RevisionRecord(1, "h", "t", "file", NIGHT, loaded.text))
    step = area_menu(state, "en", "28029", "0", NIGHT, Links())
    assert step.dial == "+34 900 100 200" and not step.hangup
    general_line = area_menu(state, "en", "28012", "0", NIGHT, Links())  # the permits desk
    assert general_line.dial is None and general_line.hangup


EXAMPLE = Path(__file__).parents[3] / "status_feed.yaml"
MORNING = dt.datetime(2026, 11, 24, 12, 0, tzinfo=MADRID)


def example_state() -> FeedState:
    loaded = load_feed(EXAMPLE)
    return FeedState.build(loaded, RevisionRecord(1, "h", "t", "file", MORNING, loaded.text))


def test_the_line_says_places_and_times_as_a_person_would() -> None:
    state = example_state()
    ser = state.render("ivr", "ser-renewal-down", "es", MORNING)
    assert "en el distrito Centro" in ser and "en distrito" not in ser
    fibre = state.render("ivr", "fibre-outage-north", "es", MORNING)
    # The title names the place: it is not said again ("…distrito Norte, en distrito Norte").
    assert "Sin fibra en el distrito Norte." in fibre and "Norte, en" not in fibre
    assert "Próxima actualización: hoy a las 13:30." in fibre
    english = state.render("ivr", "fibre-outage-north", "en", MORNING)
    assert "No fibre in the North district." in english and "district, in" not in english
    later = MORNING + dt.timedelta(days=3)
    said = state.render("ivr", "fibre-outage-north", "es", later)
    assert "actualización 24 de noviembre" not in said  # never a date without its preposition


def test_the_greeting_says_the_organizations_apology() -> None:
    state = example_state()
    org = state.feed.organization.apology
    for locale in ("es", "en"):
        greeting = general(state, locale, MORNING)
        assert greeting.endswith(org[locale].strip()), greeting
        own = state.feed.incident("ser-renewal-down").apology  # type: ignore[union-attr]
        assert own is None or own[locale] not in greeting


def test_each_language_offer_is_said_in_its_own_voice_and_language() -> None:
    from channels.phone.dialogue import welcome
    from channels.phone.markup import to_twiml, to_vxml

    state = example_state()
    step = welcome(state, "es", MORNING, Links())
    twiml = to_twiml(step)
    import re

    [offer] = re.findall(r"<Say ([^>]*)>For English, press nine.</Say>", twiml)
    assert 'language="en-GB"' in offer and 'voice="Polly.Lucia"' not in offer
    vxml = to_vxml(step).decode()
    assert 'xml:lang="en-GB"' in vxml.split("For English")[0].rsplit("<prompt", 1)[1]


def test_resolved_incidents_get_resolved_words_on_every_channel() -> None:
    from bot.feed.changes import ResolveIncident, apply_change
    from bot.feed.loader import parse_feed

    text = apply_change(
        EXAMPLE.read_text(encoding="utf-8"),
        ResolveIncident(id="ser-renewal-down"),
        author="t",
        now=MORNING,
    )
    loaded = parse_feed(text)
    state = FeedState.build(loaded, RevisionRecord(2, "h", "t", "file", MORNING, text))
    for channel in state.renderers:
        for locale in ("es", "en"):
            said = state.render(channel, "ser-renewal-down", locale, MORNING).casefold()
            assert "causando" not in said and "is causing" not in said, (channel, said)
    staff = state.render("staff", "ser-renewal-down", "es", MORNING)
    assert "ya no se aplican" in staff and "INSTRUCCIONES" not in staff


def test_the_keypad_takes_as_many_digits_as_the_feeds_postcodes(small_feed: LoadedFeed) -> None:
    from bot.feed.loader import parse_feed
    from channels.phone.dialogue import welcome

    text = small_feed.text.replace(
        "organization:\n", "organization:\n  postcode_pattern: '\\d{4}'\n", 1
    )
    for five, four in (
        ("28012", "2812"),
        ("28013", "2813"),
        ("28014", "2814"),
        ("28034", "2834"),
        ("01001", "0101"),
    ):
        text = text.replace(f'"{five}"', f'"{four}"')
    loaded = parse_feed(text)
    state = FeedState.build(loaded, RevisionRecord(1, "h", "t", "file", NOON, text))
    step = welcome(state, "es", NOON, Links())
    assert step.gather is not None and step.gather.max_digits == 4


@pytest.mark.parametrize("channel", ["web", "x", "customer"])
def test_no_channel_repeats_a_place_the_title_names(channel: str) -> None:
    state = example_state()
    said = state.render(channel, "fibre-outage-north", "es", MORNING)
    assert "Sin fibra en el distrito Norte" in said
    assert "(distrito Norte)" not in said
    ser = state.render(channel, "ser-renewal-down", "es", MORNING)
    assert "(distrito Centro)" in ser  # a title that does not name it keeps its place
