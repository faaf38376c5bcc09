"""Times as people say them, in the organization's zone: "hoy a las 14:30", "today at 2:30 PM"."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time

from bot.words import words


def clock(moment: dt.datetime, locale: str, tz: ZoneInfo) -> str:
    """The time of day alone, in the locale's short format ("14:30", "2:30 PM")."""
    local = moment.astimezone(tz)
    return _clock(local.hour, local.minute, locale)


@lru_cache(maxsize=4096)
def _clock(hour: int, minute: int, locale: str) -> str:
    # CLDR puts a narrow no-break space before AM/PM: speech engines and X count it oddly.
    return format_time(dt.time(hour, minute), "short", locale=locale).replace("\u202f", " ")


def say_when(moment: dt.datetime, now: dt.datetime, locale: str, tz: ZoneInfo) -> str:
    """A moment relative to `now`: today/tomorrow/yesterday, a weekday this week, else a date."""
    return _say_when(moment, now.astimezone(tz).date(), locale, tz)


@lru_cache(maxsize=8192)
def _say_when(moment: dt.datetime, today: dt.date, locale: str, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    days = (local.date() - today).days
    say = words(locale)
    if days == 0:
        day = say("when.today")
    elif days == 1:
        day = say("when.tomorrow")
    elif days == -1:
        day = say("when.yesterday")
    elif 1 < days < 7:
        day = format_date(local, "EEEE", locale=locale)
    elif local.year == today.year:
        day = format_skeleton("MMMMd", local, locale=locale)
    else:
        day = format_date(local, "long", locale=locale)
    # Spanish says "a la 1:30" but "a las 13:30" (English says "at" for both).
    joiner = say("when.at_one" if local.hour == 1 else "when.at_time")
    return f"{day} {joiner} {clock(local, locale, tz)}"
