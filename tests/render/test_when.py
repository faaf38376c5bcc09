"""Times said the way people say them, in the organization's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.render.when import say_when

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("moment", "spanish", "english"),
    [
        (dt.datetime(2026, 11, 24, 14, 30, tzinfo=MADRID), "hoy a las 14:30", "today at 2:30 PM"),
        (
            dt.datetime(2026, 11, 25, 9, 0, tzinfo=MADRID),
            "mañana a las 9:00",
            "tomorrow at 9:00 AM",
        ),
        (
            dt.datetime(2026, 11, 25, 1, 15, tzinfo=MADRID),
            "mañana a la 1:15",
            "tomorrow at 1:15 AM",
        ),
        (
            dt.datetime(2026, 11, 23, 22, 0, tzinfo=MADRID),
            "ayer a las 22:00",
            "yesterday at 10:00 PM",
        ),
        (
            dt.datetime(2026, 11, 27, 13, 5, tzinfo=MADRID),
            "viernes a las 13:05",
            "Friday at 1:05 PM",
        ),
        (
            dt.datetime(2026, 12, 24, 13, 5, tzinfo=MADRID),
            "24 de diciembre a las 13:05",
            "December 24 at 1:05 PM",
        ),
        (
            dt.datetime(2027, 1, 2, 8, 0, tzinfo=MADRID),
            "2 de enero de 2027 a las 8:00",
            "January 2, 2027 at 8:00 AM",
        ),
        # Given in UTC, said in Madrid time: 13:30 UTC is 14:30 in Madrid in November.
        (dt.datetime(2026, 11, 24, 13, 30, tzinfo=dt.UTC), "hoy a las 14:30", "today at 2:30 PM"),
    ],
)
def test_times_are_said_as_people_say_them(moment: dt.datetime, spanish: str, english: str) -> None:
    assert say_when(moment, NOW, "es", MADRID) == spanish
    assert say_when(moment, NOW, "en", MADRID) == english


def test_the_day_changes_at_local_midnight_not_utc() -> None:
    late = dt.datetime(2026, 11, 24, 23, 30, tzinfo=MADRID)  # 22:30 UTC, still the 24th in UTC
    just_after = dt.datetime(2026, 11, 25, 0, 30, tzinfo=MADRID)  # 23:30 UTC on the 24th
    assert say_when(just_after, late, "es", MADRID) == "mañana a las 0:30"
