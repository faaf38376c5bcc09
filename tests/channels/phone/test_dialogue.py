"""The dialogue's own rules: opening hours, and the general announcement's length."""

from __future__ import annotations

import datetime as dt

from bot.feed.loader import LoadedFeed
from bot.feed.models import HumanContact
from bot.state import FeedState
from bot.store import RevisionRecord
from channels.phone.dialogue import general, is_open
from tests.conftest import MADRID, NOON

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
        "title: {es: '" + "Muy largo " * 40 + "', en: long}",
    )
    from bot.feed.loader import parse_feed

    loaded = parse_feed(text)
    record = RevisionRecord(1, loaded.content_hash, "t", "file", NOON, text)
    said = general(FeedState.build(loaded, record), "es", NOON)
    assert len(said) <= 300 and said.startswith("Le informamos de una incidencia en curso")
