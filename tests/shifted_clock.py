"""A pytest plugin that runs the tests as if today were later: `-p tests.shifted_clock`
with UNAVOZ_TEST_SHIFT_DAYS=365 moves the system clock of the test process a year ahead
(it keeps ticking), so a test that leans on today's date fails here first."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine

_traveller: time_machine.travel | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _traveller
    days = int(os.environ.get("UNAVOZ_TEST_SHIFT_DAYS", "0"))
    if days:
        _traveller = time_machine.travel(
            dt.datetime.now(dt.UTC) + dt.timedelta(days=days), tick=True
        )
        _traveller.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _traveller is not None:
        _traveller.stop()
