"""Changes edit only the incidents they touch: the same feed as a whole round trip gives,
the rest of the text byte for byte, and a layout it does not know is edited whole."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.feed.changes import (
    Change,
    EdgeToTell,
    OpenIncident,
    ResolveIncident,
    TellEdges,
    UpdateIncident,
    _apply_whole,
    _Layout,
    apply_change,
)
from bot.feed.loader import parse_feed
from bot.feed.models import Edge, Status
from tests.conftest import MADRID, NOON

ROOT = Path(__file__).parents[2]
EXAMPLE = (ROOT / "status_feed.yaml").read_text("utf-8")
LATER = NOON + dt.timedelta(hours=3)

CHANGES: list[tuple[str, Change]] = [
    (
        "permits-down",
        UpdateIncident(
            id="permits-down",
            status=Status.MONITORING,
            message={"es": "Parece arreglado.", "en": "Looks fixed."},
            eta=LATER,
        ),
    ),
    ("permits-down", ResolveIncident(id="permits-down", message={"es": "Ya.", "en": "Done."})),
    (
        "permits-down",
        TellEdges(
            id="permits-down",
            edges=[
                EdgeToTell(
                    incident="permits-down",
                    edge=Edge.NEXT_UPDATE_OVERDUE,
                    at=dt.datetime(2026, 11, 24, 14, 30, tzinfo=MADRID),
                )
            ],
        ),
    ),
    (
        "water-cut",
        OpenIncident(
            id="water-cut",
            title={"es": "Sin agua", "en": "No water"},
            summary={"es": "Corte.", "en": "Cut."},
            services=["permits"],
            areas=["sol"],
            next_update_by=LATER,
        ),
    ),
]


@pytest.mark.parametrize(("incident", "change"), CHANGES, ids=[c.action for _, c in CHANGES])
def test_only_the_incident_changed_is_rewritten(
    small_text: str, incident: str, change: Change
) -> None:
    fast = apply_change(small_text, change, author="ana", now=LATER)
    whole = _apply_whole(small_text, change, author="ana", now=LATER)
    assert yaml.safe_load(fast) == yaml.safe_load(whole)
    parse_feed(fast, "feed.yaml")  # and it is valid
    before = {i["id"]: i for i in yaml.safe_load(small_text)["incidents"]}
    after = {i["id"]: i for i in yaml.safe_load(fast)["incidents"]}
    for other in set(before) - {incident}:
        assert after[other] == before[other]
    # Every line outside the incident's item is kept as it was.
    kept = [line for line in small_text.splitlines() if "permits-down" not in line]
    assert all(line in fast.splitlines() for line in kept[:20])


def test_the_example_feed_keeps_its_comments_and_every_other_byte() -> None:
    change = UpdateIncident(id="fibre-outage-north", message={"es": "Sigue.", "en": "Still."})
    fast = apply_change(EXAMPLE, change, author="ana", now=LATER)
    assert yaml.safe_load(fast) == yaml.safe_load(
        _apply_whole(EXAMPLE, change, author="ana", now=LATER)
    )
    head = EXAMPLE[: EXAMPLE.index("  - id: fibre-outage-north")]
    assert fast.startswith(head)  # the comments, the organization, the other incidents
    assert fast.count("\n#") == EXAMPLE.count("\n#")


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\norganization: {}\nincidents: []\n",  # a flow list
        "version: 1\norganization: {}\n",  # no incidents section yet
        "organization: {}\nincidents:\n  - id: a\n x: 1\n",  # a line left of the items
    ],
)
def test_a_layout_it_does_not_know_is_edited_whole(text: str) -> None:
    assert _Layout.of(text) is None


def test_the_fast_path_is_taken_for_the_feeds_unavoz_writes(small_text: str) -> None:
    layout = _Layout.of(small_text)
    assert layout is not None
    assert layout.ids == ["permits-down", "fibre-works", "old-outage"]
