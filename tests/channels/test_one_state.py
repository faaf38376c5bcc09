"""One rule for a maintenance's state at a moment, told alike by every channel (#19).

Between a window's edge and the scheduler's revision (and in previews and static
exports, where no scheduler runs) the window decides: in progress inside it, completed
after it. No channel may tell "scheduled" while another tells "under maintenance", nor
list a maintenance that another has stopped showing.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from bot.feed.loader import parse_feed
from bot.feed.models import Status
from bot.preview import preview_feed
from bot.registry import default_registry
from bot.state import FeedState
from bot.store import RevisionRecord
from channels.web import views
from channels.web.page import render_status_page
from tests.conftest import MADRID, SMALL_FEED

DURING = dt.datetime(2026, 11, 25, 2, 0, tzinfo=MADRID)  # inside fibre-works' window
AFTER = dt.datetime(2026, 11, 25, 6, 0, tzinfo=MADRID)  # its window ended, still `scheduled`
NORTE_POSTCODE = "28034"


@pytest.fixture
def state() -> FeedState:
    text = SMALL_FEED.read_text(encoding="utf-8")
    loaded = parse_feed(text, "small_feed.yaml")
    record = RevisionRecord(1, loaded.content_hash, "t", "file", DURING, text)
    return FeedState.build(loaded, record)


def test_during_the_window_every_channel_says_in_progress(state: FeedState) -> None:
    [current] = [i for i in state.lookup.current(DURING) if i.id == "fibre-works"]
    assert current.status is Status.IN_PROGRESS
    for channel in state.renderers:
        for locale in ("es", "en"):
            text = state.render(channel, "fibre-works", locale, DURING).casefold()
            label = {"es": "en curso", "en": "in progress"}[locale]
            assert label in text, (channel, locale, text)
            assert "programad" not in text and "scheduled" not in text, (channel, text)
    summary = views.statuspage_summary(state, DURING, "en")
    [maintenance] = summary["scheduled_maintenances"]
    assert maintenance["status"] == "in_progress"
    [component] = [c for c in summary["components"] if c["id"] == "fibre"]
    assert component["status"] == "under_maintenance"
    page = render_status_page(state, DURING, "en")
    assert "In progress" in page or "in progress" in page
    assert "scheduled" not in page.casefold().split("fibre network maintenance", 1)[1][:200]
    banner = views.banner(state, DURING, "en", area="norte")
    assert [i["status"] for i in banner["incidents"]] == ["in_progress"]


def test_after_the_window_no_channel_lists_it_as_open(state: FeedState) -> None:
    assert "fibre-works" not in {i.id for i in state.lookup.current(AFTER)}
    assert "fibre-works" not in {i.id for i in state.lookup.upcoming_maintenance(AFTER)}
    banner = views.banner(state, AFTER, "en", area="norte")
    assert banner["incidents"] == [] and banner["maintenance"] == []
    summary = views.statuspage_summary(state, AFTER, "en")
    assert summary["scheduled_maintenances"] == []
    assert [c["status"] for c in summary["components"] if c["id"] == "fibre"] == ["operational"]
    assert views.statuspage_unresolved(state, AFTER, "en")["incidents"] == [
        i
        for i in views.statuspage_unresolved(state, AFTER, "en")["incidents"]
        if i["id"] != "fibre-works"
    ]
    # Atom tells it completed, as a new entry, never as still scheduled.
    root = ET.fromstring(views.atom(state, "en", "https://x.example/feed.atom", AFTER))
    atom = "{http://www.w3.org/2005/Atom}"
    titles = [e.findtext(f"{atom}title") or "" for e in root.iter(f"{atom}entry")]
    fibre = [t for t in titles if t.startswith("Fibre network maintenance")]
    assert fibre and all("scheduled" not in t.casefold() for t in fibre), fibre
    assert any("resolved" in t.casefold() or "completed" in t.casefold() for t in fibre)
    assert "fibre-works" not in {i.id for i in state.lookup.open_at(AFTER)}
    page = render_status_page(state, AFTER, "en")
    upcoming = page.split("Fibre network maintenance")
    assert all("scheduled" not in part[:300].casefold() for part in upcoming[1:])
    registry = default_registry()
    preview = preview_feed(
        state.feed,
        now=AFTER,
        channels=list(registry.renderers),
        renderers=registry.renderers,
        area="norte",
    )
    assert "fibre-works" not in preview


def test_ivr_in_the_window_tells_the_caller_in_progress(state: FeedState) -> None:
    from channels.phone import dialogue

    step = dialogue.area(state, "en", NORTE_POSTCODE, DURING, dialogue.Links())
    said = " ".join(step.say).casefold()
    assert "in progress" in said and "scheduled" not in said
