"""The one clock: every "now" in Unavoz comes from a `Clock`, so tests and demos can set it.

`Clock()` is the real time. `Clock.starting_at(moment)` starts at `moment` and runs on
from there (shifted, not frozen): `unavoz run --at` / `UNAVOZ_NOW` for demos. Tests
that must not move use `FrozenClock`, which only moves when told to.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable


class Clock:
    """Timezone-aware UTC time, shifted by a fixed offset from the system's."""

    def __init__(self, offset: dt.timedelta = dt.timedelta(0)) -> None:
        self.offset = offset

    @classmethod
    def starting_at(cls, moment: dt.datetime, *, real: Callable[[], float] = time.time) -> Clock:
        if moment.tzinfo is None:
            raise ValueError("a clock starts at an aware time (with its UTC offset)")
        now = dt.datetime.fromtimestamp(real(), dt.UTC)
        return cls(moment.astimezone(dt.UTC) - now)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def timestamp(self) -> float:
        """Seconds since the epoch, as this clock tells them (for stores and ledgers)."""
        return time.time() + self.offset.total_seconds()

    @property
    def shifted(self) -> bool:
        return bool(self.offset)


def start_clock(text: str | None, tz: dt.tzinfo) -> Clock:
    """The clock `--at TEXT` / `UNAVOZ_NOW=TEXT` asks for (ISO 8601, "14:30", "+2h");
    the real one without TEXT."""
    if not text:
        return Clock()
    from bot.feed.changes import parse_when  # the operators' one way of writing a time

    return Clock.starting_at(parse_when(text, dt.datetime.now(tz), tz))


class FrozenClock(Clock):
    """A clock that stands still until `advance` or `set` moves it (tests, benchmarks)."""

    def __init__(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a clock is set to an aware time (with its UTC offset)")
        super().__init__()
        self.moment = moment.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.moment

    def timestamp(self) -> float:
        return self.moment.timestamp()

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        seconds = delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)
        self.moment += seconds
        return self.moment

    def set(self, moment: dt.datetime) -> None:
        self.moment = moment.astimezone(dt.UTC)

    @property
    def shifted(self) -> bool:
        return True
