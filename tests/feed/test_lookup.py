"""What affects a postcode, an area or a service now."""

from __future__ import annotations

import datetime as dt

from bot.feed.loader import LoadedFeed
from bot.feed.lookup import Lookup


def ids(incidents: list) -> list[str]:  # type: ignore[type-arg]
    return [i.id for i in incidents]


def test_an_incident_on_a_parent_area_affects_its_children(
    small_feed: LoadedFeed, now: dt.datetime
) -> None:
    lookup = Lookup(small_feed.feed)
    assert ids(lookup.for_area("centro", now)) == ["permits-down"]
    assert ids(lookup.for_area("sol", now)) == ["permits-down"]
    # 28014 is only in Sol, a child of Centro; 28013 is in both and counts the incident once.
    assert ids(lookup.for_postcode("28014", now)) == ["permits-down"]
    assert ids(lookup.for_postcode("28013", now)) == ["permits-down"]


def test_postcodes_are_matched_whatever_their_spacing_and_case(
    small_feed: LoadedFeed, now: dt.datetime
) -> None:
    lookup = Lookup(small_feed.feed)
    assert ids(lookup.for_postcode(" 28 012 ", now)) == ["permits-down"]
    assert lookup.knows_postcode("01001")
    assert not lookup.knows_postcode("99999")
    assert lookup.for_postcode("99999", now) == []


def test_resolved_incidents_and_future_maintenance_do_not_affect_now(
    small_feed: LoadedFeed, now: dt.datetime
) -> None:
    lookup = Lookup(small_feed.feed)
    assert lookup.for_area("norte", now) == []
    assert lookup.for_service("fibre", now) == []
    assert ids(lookup.upcoming_maintenance(now)) == ["fibre-works"]
    assert ids(lookup.current(now)) == ["permits-down"]


def test_maintenance_affects_its_area_during_its_window(
    small_feed: LoadedFeed, now: dt.datetime
) -> None:
    lookup = Lookup(small_feed.feed)
    during = dt.datetime(2026, 11, 25, 1, 0, tzinfo=now.tzinfo)
    after = dt.datetime(2026, 11, 25, 5, 0, tzinfo=now.tzinfo)
    assert ids(lookup.for_postcode("28034", during)) == ["fibre-works"]
    assert ids(lookup.for_service("fibre", during)) == ["fibre-works"]
    assert lookup.for_postcode("28034", after) == []
    assert lookup.upcoming_maintenance(during) == []
