"""Shared fixtures: the small test feed, a fixed clock, a feed file in a temporary directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.feed.loader import LoadedFeed, parse_feed
from bot.service import FeedService
from bot.store import open_store

DATA = Path(__file__).parent / "data"
SMALL_FEED = DATA / "small_feed.yaml"
MADRID = ZoneInfo("Europe/Madrid")
# Noon on the day of the small feed's incident: before its next update, before its ETA.
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=MADRID)


def pytest_report_header() -> list[str]:
    """Which tests this machine skips, and why, before any runs (see tests/environment.py)."""
    from tests.environment import report

    return report()


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


# A title an attacker might type: every channel must show it as text and never run it.
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def prepare(text: str) -> str:
    """The small feed, with CORS origins and a hostile title on the open incident."""
    hostile = text.replace(
        "title: {es: Renovación de permisos caída, en: Permit renewal down}",
        f"title: {{es: '{HOSTILE}', en: '{HOSTILE} & \"quotes\"'}}",
    )
    return hostile + (
        'channels:\n  web:\n    options:\n      cors_origins: ["https://www.prueba.example"]\n'
    )


@pytest.fixture
async def service(feed_file: Path, tmp_path: Path) -> AsyncIterator[FeedService]:
    """The hostile feed, served at noon; test modules that need another one override it."""
    feed_file.write_text(prepare(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as store:
        service = FeedService(feed_file, store, clock=lambda: NOON)
        await service.start()
        yield service
