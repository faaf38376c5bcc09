"""The one clock, and the suite's independence from today's date."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.clock import Clock, FrozenClock, start_clock
from tests.conftest import MADRID, NOON

ROOT = Path(__file__).parents[1]


def test_a_started_clock_runs_on_from_its_start() -> None:
    ticks = iter([1000.0])
    clock = Clock.starting_at(NOON, real=lambda: next(ticks))
    assert clock.offset == NOON - dt.datetime.fromtimestamp(1000.0, dt.UTC)
    first = clock()
    assert first >= NOON and clock() >= first and clock.shifted


def test_start_clock_reads_what_operators_type() -> None:
    assert not start_clock(None, MADRID).shifted
    at_noon = start_clock("2026-11-24T12:00", MADRID)()
    assert abs(at_noon - NOON) < dt.timedelta(seconds=5)


def test_a_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(NOON)
    assert clock() == clock() == NOON
    clock.advance(90)
    assert clock() == NOON + dt.timedelta(seconds=90)
    with pytest.raises(ValueError):
        FrozenClock(dt.datetime(2026, 11, 24, 12, 0))


@pytest.mark.timeout(300)
def test_the_time_sensitive_tests_pass_a_year_from_now() -> None:
    """Tests inject "now"; run those that deal with times with the system clock a year ahead."""
    modules = [
        "tests/test_cli.py",
        "tests/test_timekeeper.py",
        "tests/test_conversation.py",
        "tests/render",
        "tests/feed",
        "tests/channels/phone/test_dialogue.py",
        "tests/channels/phone/test_ivr.py",
        "tests/channels/web/test_routes.py",
        "tests/http/test_admin.py",
        "tests/claims/test_kinds.py",
    ]
    env = {**os.environ, "UNAVOZ_TEST_SHIFT_DAYS": "365"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.shifted_clock",
            "-p",
            "no:cacheprovider",
            *modules,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
