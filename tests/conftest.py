"""Shared fixtures: the small test feed, a fixed clock, a feed file in a temporary directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.feed.loader import LoadedFeed, parse_feed

DATA = Path(__file__).parent / "data"
SMALL_FEED = DATA / "small_feed.yaml"
MADRID = ZoneInfo("Europe/Madrid")
# Noon on the day of the small feed's incident: before its next update, before its ETA.
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=MADRID)


@pytest.fixture
def small_text() -> str:
    return SMALL_FEED.read_text(encoding="utf-8")


@pytest.fixture
def small_feed(small_text: str) -> LoadedFeed:
    return parse_feed(small_text, "small_feed.yaml")


@pytest.fixture
def now() -> dt.datetime:
    return NOON


@pytest.fixture
def feed_file(tmp_path: Path, small_text: str) -> Path:
    path = tmp_path / "status_feed.yaml"
    path.write_text(small_text, encoding="utf-8")
    return path
