"""The claims lint's fixtures: the example feed (the corpus's) at noon on its day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.feed.loader import load_feed
from bot.feed.models import Feed
from tests.conftest import MADRID

EXAMPLE_FEED = Path(__file__).parents[2] / "status_feed.yaml"
# Noon on the example feed's day: SER permits due back at 18:00, fibre without an ETA.
EXAMPLE_NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=MADRID)


@pytest.fixture(scope="session")
def example_feed() -> Feed:
    return load_feed(EXAMPLE_FEED).feed
