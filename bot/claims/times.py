"""Times and dates in a reply ("a las seis de la tarde", "6pm tmrw", "en dos horas", "by
Friday"), each read as the interval of moments it names, relative to now.

Works on the folded text (lower-case, no accents, ñ kept). A reply names a time
in a few pieces — a day, a part of the day, a clock time, a relative amount — so
each piece is found on its own and neighbours are joined into one mention.
Every pattern is linear (no nested repetition) and the text is capped, so a
hostile reply cannot make a match backtrack for long.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

Relation = Literal["at", "by", "after", "from", "range"]

NUMBERS = {
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_HOUR_WORDS = (
    "una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|"
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
)
_AMOUNT_WORDS = _HOUR_WORDS + "|un|an?|few|pocas|par\\s+de|couple\\s+(?:of\\s+)?"
WEEKDAYS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
    "domingo": 6, "monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2,
    "thursday": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
MONTHS = {
    "ene": 1, "feb": 2, "mar": 3, "abr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8,
    "sep": 9, "set": 9, "oct": 10, "nov": 11, "dic": 12, "jan": 1, "apr": 4, "aug": 8,
    "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?P<month>ene(?:ro)?|feb(?:rero|ruary)?|mar(?:zo|ch)?|abr(?:il)?|apr(?:il)?|may(?:o)?|"
    r"jun(?:io|e)?|jul(?:io|y)?|ago(?:sto)?|aug(?:ust)?|sep(?:tiembre|tember)?|set(?:iembre)?|"
    r"oct(?:ubre|ober)?|nov(?:iembre|ember)?|dic(?:iembre)?|dec(?:ember)?)\b"
)

# A clock time: "18:00", "18h", "6pm", "6 p.m.", "seis y media de la tarde", "6 o'clock".
_CLOCK = re.compile(
    rf"(?<![\w:/.,+])(?P<hour>\d{{1,2}}|{_HOUR_WORDS})"
    r"(?:\s?[:.h]\s?(?P<minute>[0-5]\d)(?!\d))?"
    r"(?P<suffix>\s?(?:h|hs|hrs)\b)?"
    r"(?P<half>\s+y\s+(?:media|cuarto)|\s+menos\s+cuarto)?"
    r"(?P<ish>ish\b)?"
    r"(?P<mer>\s?a\.?\s?m\b\.?|\s?p\.?\s?m\b\.?|\s+de\s+la\s+(?:mañana|manana|tarde|noche|madrugada)"
    r"|\s+(?:in\s+the\s+)?(?:morning|afternoon|evening)|\s+tonight|\s+o'?clock|\s+en\s+punto)?"
    r"(?![\w/%€])"
)
# What makes a bare number a clock time: "a las 6", "at 6", "by 6", "sobre las 6".
_CLOCK_CUE = re.compile(
    r"(?:\b(?:a|sobre|hacia|para|antes\s+de|hasta|desde|partir\s+de|entre|y|eso\s+de|de)\s+las?"
    r"|\blas|\b(?:at|by|around|about|before|after|until|till|til|from|since|to|approx|aprox)"
    r"|~)\s*$"
)
# "de 8 a 20", "from 8 to 8", "8-20h": a bare number opening or closing a range of hours.
_RANGE_START = re.compile(r"\s*(?:-|–|a|to|hasta|till|until|y)\s*(?:las\s+)?\d{1,2}(?!\d)")
_RANGE_OPEN = re.compile(r"(?:\b(?:de|desde|from|entre|between)\s+|^|\s)$")
_RANGE_END = re.compile(
    r"\b(?:de|desde|from|entre|between)?\s*\d{1,2}(?:[:.]\d\d)?\s*(?:h|am|pm)?"
    r"\s*(?:-|–|a|to|hasta|till|until|y)\s*(?:las\s+)?$"
)
_RELATIVE = re.compile(
    r"\b(?P<pre>en|dentro\s+de|in|within|hace)\s+(?:(?:unas?|unos|about|around|aprox\.?|approx\.?"
    r"|~|las\s+proximas|the\s+next|next)\s+)?"
    rf"(?P<amount>\d{{1,3}}(?:[.,]5)?|media|half\s+an?|un\s+par\s+de|a\s+couple\s+of|{_AMOUNT_WORDS})\s*"
    r"(?P<unit>horas?|hrs?|hs?|hours?|minutos?|mins?|m|minutes?|dias?|days?)\b"
    r"(?P<half>\s+y\s+media|\s+and\s+a\s+half)?(?P<ago>\s+ago)?"
)
_DAY = re.compile(
    r"\b(?:"
    r"(?P<after_tomorrow>pasado\s+(?:mañana|manana)|(?:the\s+)?day\s+after\s+tomorrow)"
    r"|(?P<today_rest>a\s+lo\s+largo\s+del\s+dia(?:\s+de\s+hoy)?|(?:durante|en)\s+el\s+dia\s+de\s+hoy"
    r"|mas\s+tarde\s+hoy|later\s+(?:today|on\s+today)|during\s+the\s+day|(?:throughout|over)\s+the\s+day)"
    r"|(?P<end_of_day>(?:al\s+)?final\s+del\s+dia|fin\s+del\s+dia|end\s+of\s+(?:the\s+)?day|eod"
    r"|close\s+of\s+business|cob|ultima\s+hora(?:\s+de\s+(?:la\s+tarde|hoy))?)"
    r"|(?P<first_thing>(?:a\s+)?primera\s+hora(?:\s+de\s+la\s+(?:mañana|manana))?"
    r"|first\s+thing(?:\s+in\s+the\s+morning)?)"
    r"|(?P<this_morning>esta\s+(?:mañana|manana)|this\s+morning)"
    r"|(?P<morning>(?:por|de|durante|toda)\s+la\s+(?:mañana|manana)|a\s+media\s+(?:mañana|manana)"
    r"|in\s+the\s+morning|morning|mañanita)"
    r"|(?P<noon>(?:a\s+)?mediodia|noon|midday|lunchtime|hora\s+de\s+comer)"
    r"|(?P<afternoon_es>(?:esta|por\s+la|la|de|a\s+la|toda\s+la)\s+tarde)"
    r"|(?P<afternoon_en>(?:this\s+)?afternoon|this\s+arvo)"
    r"|(?P<evening>(?:this\s+)?evening)"
    r"|(?P<tonight_es>(?:esta|por\s+la|la|de|toda\s+la)\s+noche)"
    r"|(?P<tonight_en>tonight|tonite|2nite|tonght)"
    r"|(?P<midnight>medianoche|midnight)"
    r"|(?P<today>hoy|today|tdy|2day)"
    r"|(?P<tomorrow>mañana|manana|mñn|mñna|mañ|tmrw|tmr|tmw|tomorrow|tomorow|tommorow|tomoz"
    r"|2moro|2morrow|2mrw)"
    r"|(?P<next_week>(?:la\s+)?semana\s+que\s+viene|(?:la\s+)?proxima\s+semana|next\s+week)"
    r"|(?P<this_week>esta\s+semana|this\s+week)"
    r"|(?P<weekend>(?:este\s+)?fin\s+de\s+semana|(?:this\s+)?weekend)"
    r"|(?P<weekday>lunes|martes|miercoles|jueves|viernes|sabado|domingo|monday|tuesday|tues"
    r"|wednesday|weds|thursday|thurs|friday|fri|saturday|sunday)"
    r"|(?!24\s*/\s*7\b)(?P<dm>\d{1,2})\s*/\s*(?P<mm>\d{1,2})(?:/\d{2,4})?(?![\d/])"
    rf"|(?P<day_of>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+|of\s+)?{_MONTH}"
    rf"|{_MONTH.replace('month', 'month2')}\s+(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\b"
    r"|(?:el\s+(?:dia\s+)?|the\s+)(?P<day_only>\d{1,2})(?:st|nd|rd|th)?\b(?!\s*(?:[:./h]\d|de\s+\w|of\s+\w|am|pm))"
    r")"
)
# Filler allowed between two pieces of one mention: "mañana | por la | mañana", "hoy, a las 6".
_JOIN = re.compile(
    r"^[\s,]*(?:(?:a|al|las?|por|de|del|el|on|at|in|the|sobre|hacia|eso|around|about|o|or"
    r"|y|and|to|hasta|till|until|entre|between|-|–|aprox\.?|approx\.?|~)[\s,]*)*$"
)
_BEFORE = re.compile(
    r"(?:\b(?:antes\s+de(?:l|\s+la|\s+las|\s+el)?|para(?:\s+el|\s+las?)?|by|before"
    r"|no\s+later\s+than|como\s+(?:muy\s+)?tarde(?:\s+(?:a\s+las?|el))?|at\s+the\s+latest|latest"
    r"|hasta(?:\s+las?|\s+el)?|until|till|til|within|dentro\s+de)"
    r"|(?P<after>\b(?:a\s+partir\s+de(?:l|\s+las?)?|despues\s+de(?:l|\s+las?)?|after|not\s+before"
    r"|no\s+antes\s+de(?:l|\s+las?)?)"
    r")|(?P<since>\b(?:desde(?:\s+las?|\s+el)?|since|from|de))"
    r")\s*$"
)
_LEAD = re.compile(r"\b(?:a\s+las?|sobre\s+las?|hacia\s+las?|at|around|about|en|in)\s*$")
_APPROX = re.compile(
    r"\b(?:sobre|hacia|eso\s+de|aprox\w*\.?|approx\w*\.?|around|about|roughly|circa|ca\.|mas\s+o"
    r"\s+menos|aproximadamente|estimad\w*|alrededor\s+de|more\s+or\s+less)[\s\w]{0,10}$|~\s*$"
)

Piece = tuple[int, int, str, re.Match[str]]  # start, end, kind, match


@dataclass(slots=True)
class Clock:
    hour: int
    minute: int
    explicit: bool  # 24-hour, or with am/pm: no guessing which half of the day
    pm: bool | None = None  # what a "de la tarde"/"in the morning" says


@dataclass(slots=True)
class TimeMention:
    """One time named in the reply, as the interval [earliest, latest] it allows."""

    start: int
    end: int
    earliest: dt.datetime
    latest: dt.datetime
    relation: Relation
    approximate: bool
    precise: bool  # a clock time or an amount of hours (not a day or a part of a day)
    clocks: list[Clock] = field(default_factory=list)
    relative: bool = False
    past: bool = False  # "hace 2 horas", "2 hours ago"


def find_times(folded: str, now: dt.datetime, tz: ZoneInfo) -> list[TimeMention]:
    local_now = now.astimezone(tz)
    pieces = _pieces(folded)
    mentions: list[TimeMention] = []
    for group in _groups(folded, pieces):
        mention = _resolve(folded, group, local_now, tz)
        if mention is not None:
            mentions.append(mention)
    return mentions


def _pieces(folded: str) -> list[Piece]:
    taken = bytearray(len(folded))
    pieces: list[Piece] = []

    def add(start: int, end: int, kind: str, match: re.Match[str]) -> None:
        if any(taken[start:end]):
            return
        taken[start:end] = b"\x01" * (end - start)
        pieces.append((start, end, kind, match))

    for match in _RELATIVE.finditer(folded):
        add(
            match.start("amount") if match["pre"] != "hace" else match.start(),
            match.end(),
            "relative",
            match,
        )
    for match in _CLOCK.finditer(folded):
        if _is_clock(folded, match):
            add(match.start(), match.end(), "clock", match)
    for match in _DAY.finditer(folded):
        add(match.start(), match.end(), "day", match)
    pieces.sort()
    return pieces


def _is_clock(folded: str, match: re.Match[str]) -> bool:
    hour = match["hour"]
    value = int(hour) if hour.isdigit() else NUMBERS.get(hour, 99)
    if value >= 24:
        return False  # "24h" is a desk that never closes, not a time
    if match["minute"] or match["mer"] or match["half"] or match["ish"]:
        return True
    if match["suffix"] and hour.isdigit():
        return True
    if _RANGE_START.match(folded, match.end()) and _RANGE_OPEN.search(
        folded, max(0, match.start() - 8), match.start()
    ):
        return True
    if _RANGE_END.search(folded, max(0, match.start() - 24), match.start()):
        return True
    return _CLOCK_CUE.search(folded, max(0, match.start() - 20), match.start()) is not None


def _groups(folded: str, pieces: list[Piece]) -> list[list[Piece]]:
    groups: list[list[Piece]] = []
    for piece in pieces:
        if groups:
            last_end = groups[-1][-1][1]
            gap = folded[last_end : piece[0]]
            if len(gap) <= 16 and _JOIN.match(gap):
                groups[-1].append(piece)
                continue
        groups.append([piece])
    return groups


def _clock_of(match: re.Match[str]) -> Clock:
    hour_text = match["hour"]
    hour = int(hour_text) if hour_text.isdigit() else NUMBERS[hour_text]
    minute = int(match["minute"] or 0)
    half = (match["half"] or "").strip()
    if half.endswith("media"):
        minute = 30
    elif half.startswith("y"):
        minute = 15
    elif half:
        hour, minute = hour - 1, 45
    mer = (match["mer"] or "").strip().replace(".", "").replace(" ", "")
    pm: bool | None = None
    if mer.startswith("p") or mer.endswith(("tarde", "noche", "afternoon", "evening", "tonight")):
        pm = True
    elif mer.startswith("a") or mer.endswith(("mañana", "manana", "madrugada", "morning")):
        pm = False
    if pm is not None:
        explicit = True
        if pm and hour < 12:
            hour += 12
        elif pm is False and hour == 12:
            hour = 0
    else:
        explicit = hour > 12 or hour == 0 or hour_text.startswith("0")
    return Clock(hour % 24, minute, explicit, pm)


_PARTS: dict[str, tuple[int, int]] = {  # minutes from midnight of the day named
    "morning": (6 * 60, 12 * 60),
    "this_morning": (6 * 60, 12 * 60),
    "first_thing": (6 * 60, 10 * 60),
    "noon": (12 * 60, 15 * 60),
    "afternoon_es": (12 * 60, 21 * 60),
    "afternoon_en": (12 * 60, 18 * 60),
    "evening": (17 * 60, 23 * 60),
    "tonight_es": (20 * 60, 30 * 60),
    "tonight_en": (18 * 60, 30 * 60),
    "end_of_day": (17 * 60, 24 * 60),
    "midnight": (24 * 60, 24 * 60),
}


def _day_of(match: re.Match[str], today: dt.date) -> tuple[dt.date, dt.date] | str | None:
    """The days a day piece names (first, last), or the name of a part of a day."""
    kind = match.lastgroup
    if kind is None:
        return None
    if kind in _PARTS or kind == "today_rest":
        return kind
    if kind == "today":
        return today, today
    if kind == "tomorrow":
        day = today + dt.timedelta(days=1)
        return day, day
    if kind == "after_tomorrow":
        day = today + dt.timedelta(days=2)
        return day, day
    if kind == "weekday":
        ahead = (WEEKDAYS[match["weekday"]] - today.weekday()) % 7 or 7
        day = today + dt.timedelta(days=ahead)
        return day, day
    monday = today - dt.timedelta(days=today.weekday())
    if kind == "this_week":
        return today, monday + dt.timedelta(days=6)
    if kind == "next_week":
        return monday + dt.timedelta(days=7), monday + dt.timedelta(days=13)
    if kind == "weekend":
        return monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
    day_number, month_number = _date_numbers(match, today)
    if day_number is None:
        return None
    try:
        day = dt.date(today.year, month_number, day_number)
    except ValueError:
        return None
    if day < today - dt.timedelta(days=180):
        day = day.replace(year=today.year + 1)
    return day, day


def _date_numbers(match: re.Match[str], today: dt.date) -> tuple[int | None, int]:
    if match["dm"]:
        return int(match["dm"]), int(match["mm"])
    if match["day_of"]:
        return int(match["day_of"]), MONTHS[match["month"][:3]]
    if match["day2"]:
        return int(match["day2"]), MONTHS[match["month2"][:3]]
    if match["day_only"]:
        # "el 17" said on the 24th is the 17th gone by ("se solucionó el 17"), not next month's.
        return int(match["day_only"]), today.month
    return None, 0


def _resolve(folded: str, group: list[Piece], now: dt.datetime, tz: ZoneInfo) -> TimeMention | None:
    start, end = group[0][0], group[-1][1]
    before = folded[max(0, start - 28) : start]
    approximate = _APPROX.search(before) is not None
    cue = _BEFORE.search(before)
    relation: Relation = "at"
    if cue is not None:
        relation = "after" if cue["after"] else "from" if cue["since"] else "by"
        if cue["since"] and sum(p[2] == "clock" for p in group) > 1:
            relation = "range"
        start = max(0, start - 28) + cue.start()  # the claim's words include "antes de", "by"
    else:
        lead = _LEAD.search(before)
        if lead is not None:
            start = max(0, start - 28) + lead.start()
    today = now.date()
    days: tuple[dt.date, dt.date] | None = None
    part: str | None = None
    clocks: list[Clock] = []
    relative: dt.timedelta | None = None
    past = False
    for _, _, kind, match in group:
        if kind == "clock":
            clocks.append(_clock_of(match))
            approximate = approximate or bool(match["ish"])
        elif kind == "relative":
            relative = _amount(match)
            past = match["pre"] == "hace" or bool(match["ago"])
        else:
            found = _day_of(match, today)
            if isinstance(found, str):
                part = found
            elif found is not None:
                days = found
    if len(clocks) > 1 and relation != "by":
        relation = "range"
    mention = TimeMention(start, end, now, now, relation, approximate, False, clocks)
    if relative is not None:
        moment = now - relative if past else now + relative
        mention.earliest = mention.latest = moment
        mention.precise = mention.relative = mention.approximate = True
        mention.past = past
        return mention
    first_day = days[0] if days else today
    if clocks:
        # A range or a "since" is read as written: no rolling a gone hour over to the next.
        as_written = relation in ("from", "range") or len(clocks) > 1
        moments = [
            _place_clock(c, first_day, part, now, tz, explicit_day=days is not None or as_written)
            for c in clocks
        ]
        moments = _as_range(moments, clocks)
        mention.earliest, mention.latest = min(moments), max(moments)
        mention.precise = True
        return mention
    if part == "today_rest":
        mention.earliest, mention.latest = now, _at(today, 24 * 60, tz)
        return mention
    if part is not None:
        low, high = _PARTS[part]
        day = first_day
        if days is None and part != "this_morning" and _at(day, high, tz) <= now:
            day += dt.timedelta(days=1)
        mention.earliest, mention.latest = _at(day, low, tz), _at(day, high, tz)
        return mention
    if days is not None:
        mention.earliest = max(now, _at(days[0], 0, tz))
        mention.latest = _at(days[1], 24 * 60, tz)
        return mention
    return None


def _as_range(moments: list[dt.datetime], clocks: list[Clock]) -> list[dt.datetime]:
    """A range's opening hour read against its closing one: "8:00-20:00" opens at 8, not 20."""
    if len(moments) < 2:
        return moments
    last = moments[-1]
    placed = []
    for moment, clock in zip(moments[:-1], clocks[:-1], strict=True):
        if not clock.explicit and moment >= last > moment - dt.timedelta(hours=12):
            moment -= dt.timedelta(hours=12)
        placed.append(moment)
    if placed[0] > last:
        last += dt.timedelta(days=1)
    return [*placed, last]


def _amount(match: re.Match[str]) -> dt.timedelta:
    text = match["amount"].replace(",", ".")
    if text[0].isdigit():
        amount = float(text)
    elif text.startswith(("media", "half")):
        amount = 0.5
    elif "par" in text or "couple" in text:
        amount = 2
    elif text in ("few", "pocas"):
        amount = 3
    else:
        amount = NUMBERS.get(text, 1)
    if match["half"]:
        amount += 0.5
    unit = match["unit"]
    if unit.startswith(("d",)):
        return dt.timedelta(days=amount)
    if unit.startswith("m"):
        return dt.timedelta(minutes=amount)
    return dt.timedelta(hours=amount)


def _at(day: dt.date, minutes: int, tz: ZoneInfo) -> dt.datetime:
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return midnight + dt.timedelta(minutes=minutes)


_GONE = dt.timedelta(minutes=30)  # a clock time this long past is not the one meant
_LATE_PARTS = frozenset(
    {"afternoon_es", "afternoon_en", "evening", "tonight_es", "tonight_en", "end_of_day"}
)


def _place_clock(
    clock: Clock,
    day: dt.date,
    part: str | None,
    now: dt.datetime,
    tz: ZoneInfo,
    *,
    explicit_day: bool,
) -> dt.datetime:
    """The moment a clock time names: a bare "a las 6" is the 6 still to come (18:00 at noon)."""
    hour = clock.hour
    if not clock.explicit and hour < 12:
        later_part = part in _LATE_PARTS
        working_day = part is None and explicit_day and 1 <= hour <= 7  # "mañana a las 5": 17:00
        gone = (
            part is None
            and not explicit_day
            and _at(day, hour * 60 + clock.minute, tz) < (now - dt.timedelta(minutes=30))
        )
        if later_part or working_day or gone:
            hour += 12
    moment = _at(day, hour * 60 + clock.minute, tz)
    if clock.explicit and part is None and not explicit_day and moment < now - _GONE:
        moment += dt.timedelta(days=1)  # "back at 3am", said at noon: tomorrow's 3am
    if part in ("tonight_es", "tonight_en") and hour < 6:
        moment += dt.timedelta(days=1)
    return moment
