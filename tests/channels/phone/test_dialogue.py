"""The dialogue's own rules: opening hours, and the general announcement's length."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
