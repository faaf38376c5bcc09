"""The planner: a revision touching one incident of many looks at that one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.plan import Planner
from bot.feed.changes import EdgeToTell, TellEdges, UpdateIncident, apply_change
from bot.feed.loader import LoadedFeed, parse_feed
from bot.feed.models import Edge, Incident
from bot.state import FeedState
from bot.store import RevisionRecord
from tests.conftest import MADRID, NOON
from tests.delivery.conftest import many_incidents


class Counting(ChannelAdapter):
    name = "counting"

    def __init__(self) -> None:
        self.looked: list[str] = []

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        return [Target("t1")]

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        self.looked.append(incident.id)
        return state.render("customer", incident, "es", now)


def state(loaded: LoadedFeed, number: int) -> FeedState:
    return FeedState.build(loaded, RevisionRecord(number, "h", "t", "file", NOON, loaded.text))


def test_only_the_incidents_that_changed_are_planned(small_text: str) -> None:
    text = many_incidents(small_text, 200)
    before = state(parse_feed(text), 1)
    changed = text.replace(
        "summary: {es: Sin servicio 7., en: No service 7.}", "summary: {es: Roto 7., en: Broken 7.}"
    )
    assert changed != text
    after = state(parse_feed(changed), 2)
    adapter = Counting()
    planned = Planner([adapter], lambda: NOON).plan(before, after)
    assert [d.incident_id for d in planned] == ["extra-7"]
    assert set(adapter.looked) == {"extra-7"}  # the other 201 open incidents: not rendered


def test_a_change_outside_the_incidents_replans_them_all(small_text: str) -> None:
    before = state(parse_feed(small_text), 1)
    after = state(
        parse_feed(small_text.replace("permisos de aparcamiento", "licencias de aparcamiento")), 2
    )
    adapter = Counting()
    Planner([adapter], lambda: NOON).plan(before, after)
    assert {"permits-down", "fibre-works"} <= set(adapter.looked)


def test_a_promise_that_fell_due_is_told_though_the_words_now_match(small_text: str) -> None:
    """At the edge both revisions, rendered now, say the update is late; the message sent
    before said "next update at 14:30", so the edge's revision is still told."""
    due = dt.datetime(2026, 11, 24, 14, 30, tzinfo=MADRID)
    edge = EdgeToTell(incident="permits-down", edge=Edge.NEXT_UPDATE_OVERDUE, at=due)
    told = apply_change(
        small_text,
        TellEdges(id="permits-down", edges=[edge]),
        author="scheduler",
        now=due + dt.timedelta(minutes=1),
    )
    before, after = state(parse_feed(small_text), 1), state(parse_feed(told), 2)
    later = due + dt.timedelta(minutes=1)
    permits = after.feed.incident("permits-down")
    assert permits is not None
    said_before = Counting().payload(before, permits, Target("t1"), later)
    assert said_before == Counting().payload(after, permits, Target("t1"), later)
    planned = Planner([Counting()], lambda: later).plan(before, after)
    assert [d.incident_id for d in planned] == ["permits-down"]


class TitleOnly(Counting):
    """A channel whose words leave out every time (as X's shortest post leaves out the next
    update): only a promise newly told makes it speak."""

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        return state.statement(incident.id).title


def test_only_a_promise_newly_told_is_told_in_the_same_words(small_text: str) -> None:
    due = dt.datetime(2026, 11, 24, 14, 30, tzinfo=MADRID)
    later = due + dt.timedelta(minutes=1)
    edge = EdgeToTell(incident="permits-down", edge=Edge.NEXT_UPDATE_OVERDUE, at=due)
    overdue = apply_change(
        small_text, TellEdges(id="permits-down", edges=[edge]), author="scheduler", now=later
    )
    renewed = apply_change(
        overdue,
        UpdateIncident(id="permits-down", next_update_by=due + dt.timedelta(hours=2)),
        author="ana",
        now=later,
    )
    first, second, third = (
        state(parse_feed(text), n) for n, text in enumerate((small_text, overdue, renewed), 1)
    )
    planner = Planner([TitleOnly()], lambda: later)
    assert [d.incident_id for d in planner.plan(first, second)] == ["permits-down"]
    assert planner.plan(second, third) == []  # the promise renewed: same words, nothing new
