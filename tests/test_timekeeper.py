"""Time edges: each promise that falls due is told once, as a revision every channel re-tells,
with a clock the tests move (never real waiting)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.clock import FrozenClock
from bot.delivery.plan import Planner
from bot.edges import DueEdge, pending_edges
from bot.feed.changes import UpdateIncident
from bot.feed.models import Edge, Status
from bot.render.engine import phrase_facts
from bot.service import FeedService
from bot.store import Store, open_store
from bot.timekeeper import Timekeeper
from channels.webhook import WebhookAdapter
from tests.conftest import MADRID, NOON
from tests.delivery.conftest import with_webhooks

NEXT_UPDATE = dt.datetime(2026, 11, 24, 14, 30, tzinfo=MADRID)
ETA = dt.datetime(2026, 11, 24, 18, 0, tzinfo=MADRID)
WINDOW_START = dt.datetime(2026, 11, 25, 0, 0, tzinfo=MADRID)
WINDOW_END = dt.datetime(2026, 11, 25, 4, 0, tzinfo=MADRID)
SECOND = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as opened:
        yield opened


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOON)


def make(feed_file: Path, store: Store, clock: FrozenClock) -> tuple[FeedService, Timekeeper]:
    webhook = WebhookAdapter(secret="s")
    service = FeedService(feed_file, store, clock=clock, planner=Planner([webhook], clock))
    return service, Timekeeper(service)


@pytest.fixture
def hooked_feed(feed_file: Path) -> Path:
    text = feed_file.read_text("utf-8")
    feed_file.write_text(with_webhooks(text, ["http://127.0.0.1:9/a"]), "utf-8")
    return feed_file


async def started(
    feed_file: Path, store: Store, clock: FrozenClock
) -> tuple[FeedService, Timekeeper]:
    service, keeper = make(feed_file, store, clock)
    await service.start()
    return service, keeper


def timeline(feed_file: Path, incident: str) -> list[dict[str, object]]:
    document = yaml.safe_load(feed_file.read_text("utf-8"))
    found = next(i for i in document["incidents"] if i["id"] == incident)
    return list(found.get("updates") or [])


async def test_the_pending_edges_are_the_feeds_promises_soonest_first(
    feed_file: Path, store: Store, clock: FrozenClock
) -> None:
    _, keeper = await started(feed_file, store, clock)
    assert keeper.upcoming() == [
        DueEdge(NEXT_UPDATE, "permits-down", Edge.NEXT_UPDATE_OVERDUE),
        DueEdge(ETA, "permits-down", Edge.ETA_PASSED),
        DueEdge(WINDOW_START, "fibre-works", Edge.MAINTENANCE_STARTED),
        DueEdge(WINDOW_END, "fibre-works", Edge.MAINTENANCE_ENDED),
    ]
    assert await keeper.tell_due() == []  # nothing is due at noon


async def test_an_overdue_update_is_told_once_and_every_channel_retells_it(
    hooked_feed: Path, store: Store, clock: FrozenClock
) -> None:
    service, keeper = await started(hooked_feed, store, clock)
    before = service.state
    planned_before = sum((await store.delivery_counts()).values())
    clock.set(NEXT_UPDATE - SECOND)
    assert await keeper.tell_due() == []
    clock.set(NEXT_UPDATE + SECOND / 2)
    told = await keeper.tell_due()
    assert told == [DueEdge(NEXT_UPDATE, "permits-down", Edge.NEXT_UPDATE_OVERDUE)]
    state = service.state
    assert state.revision.number == before.revision.number + 1
    assert state.revision.author == "scheduler" and state.revision.source == "scheduler"
    statement = state.statement("permits-down", "en")
    assert statement.next_update_overdue and not statement.eta_passed
    assert (
        statement.facts_fingerprint() != before.statement("permits-down", "en").facts_fingerprint()
    )
    # No voice promises 2:30 PM any more: each says it is late (or, short of room, leaves
    # the next update out), in that one revision.
    now = clock()
    for voice in state.renderers:
        text = state.render(voice, "permits-down", "en", now)
        assert "2:30 PM" not in text or "is late" in text, (voice, text)
        assert "Next update: today at 2:30 PM" not in text, (voice, text)
    assert phrase_facts(statement, now).next_update_overdue
    # The webhook (the delivering channel here) is told of it: one more delivery (replacing
    # the one still waiting for the same incident: a target gets the latest truth).
    assert sum((await store.delivery_counts()).values()) == planned_before + 1
    entry = timeline(hooked_feed, "permits-down")[-1]
    assert entry["edge"] == "next_update_overdue" and entry["author"] == "scheduler"
    # However often the job runs, it is told once.
    assert await keeper.tell_due() == []
    assert len([u for u in timeline(hooked_feed, "permits-down") if u.get("edge")]) == 1


async def test_a_passed_eta_is_told_and_the_old_time_is_no_longer_promised(
    feed_file: Path, store: Store, clock: FrozenClock
) -> None:
    service, keeper = await started(feed_file, store, clock)
    clock.set(ETA + SECOND)
    told = await keeper.tell_due()
    # Both promises of the afternoon fell due: told together, in one revision.
    assert {e.edge for e in told} == {Edge.NEXT_UPDATE_OVERDUE, Edge.ETA_PASSED}
    state = service.state
    assert state.statement("permits-down", "es").eta_passed
    ivr = state.render("ivr", "permits-down", "es", clock())
    assert "ya pasó" in ivr and "se está retrasando" in ivr


async def test_maintenance_moves_by_itself_at_its_start_and_end(
    feed_file: Path, store: Store, clock: FrozenClock
) -> None:
    service, keeper = await started(feed_file, store, clock)
    clock.set(WINDOW_START + SECOND)
    await keeper.tell_due()
    works = service.state.feed.incident("fibre-works")
    assert works is not None and works.status is Status.IN_PROGRESS
    clock.set(WINDOW_END + SECOND)
    await keeper.tell_due()
    works = service.state.feed.incident("fibre-works")
    assert works is not None and works.status is Status.RESOLVED
    assert works.resolved_at == WINDOW_END
    assert not [e for e in keeper.upcoming() if e.incident_id == "fibre-works"]


async def test_an_operators_earlier_change_wins(
    feed_file: Path, store: Store, clock: FrozenClock
) -> None:
    service, keeper = await started(feed_file, store, clock)
    # Planned at noon; at 14:29 the operator gives a new next update; at 14:31 nothing is due.
    clock.set(NEXT_UPDATE - SECOND)
    later = NEXT_UPDATE + dt.timedelta(hours=1)
    await service.apply(
        UpdateIncident(id="permits-down", next_update_by=later), author="ana", source="cli"
    )
    clock.set(NEXT_UPDATE + SECOND)
    assert await keeper.tell_due() == []
    # The maintenance started by hand before its window: the start edge lapses.
    await service.apply(
        UpdateIncident(id="fibre-works", status=Status.IN_PROGRESS), author="ana", source="cli"
    )
    assert Edge.MAINTENANCE_STARTED not in {e.edge for e in keeper.upcoming()}


async def test_a_stale_plan_does_not_override_the_operator(
    feed_file: Path, store: Store, clock: FrozenClock
) -> None:
    """The scheduler planned the 14:30 edge; the operator moved it in the same instant the job
    fired (its plan is stale): the change re-checks the file and says nothing."""
    service, keeper = await started(feed_file, store, clock)
    stale = keeper.upcoming()
    await service.apply(
        UpdateIncident(id="permits-down", next_update_by=NEXT_UPDATE + dt.timedelta(hours=2)),
        author="ana",
        source="cli",
    )
    keeper._plan.edges = stale  # as if the revision had not reached the timekeeper yet
    clock.set(NEXT_UPDATE + SECOND)
    assert await keeper.tell_due() == []
    assert not any(u.get("edge") for u in timeline(feed_file, "permits-down"))


@pytest.mark.parametrize("restart_at", [NEXT_UPDATE - SECOND, NEXT_UPDATE, ETA + SECOND])
async def test_a_restart_at_any_moment_tells_each_edge_exactly_once(
    feed_file: Path, tmp_path: Path, clock: FrozenClock, restart_at: dt.datetime
) -> None:
    async with open_store(f"sqlite:///{tmp_path}/a.db") as store:
        _, keeper = await started(feed_file, store, clock)
        clock.set(restart_at)
        await keeper.tell_due()
    # The process dies; a new one starts later, after both afternoon edges.
    clock.set(ETA + dt.timedelta(minutes=5))
    async with open_store(f"sqlite:///{tmp_path}/a.db") as store:
        _, keeper = await started(feed_file, store, clock)
        await keeper.tell_due()  # what fell due while it was down is told at start
        await keeper.tell_due()
    edges = [u["edge"] for u in timeline(feed_file, "permits-down") if u.get("edge")]
    assert sorted(edges) == ["eta_passed", "next_update_overdue"]


async def test_an_invalid_hand_edit_makes_edges_wait_and_is_logged_once(
    feed_file: Path, store: Store, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    service, keeper = await started(feed_file, store, clock)
    feed_file.write_text(feed_file.read_text("utf-8").replace("severity: major", "severity: x"))
    clock.set(NEXT_UPDATE + SECOND)
    with caplog.at_level(logging.ERROR, "bot.timekeeper"):
        assert await keeper.tell_due() == []
        assert await keeper.tell_due() == []
    assert caplog.text.count("time edges wait") == 1
    assert pending_edges(service.state.feed)[0].edge is Edge.NEXT_UPDATE_OVERDUE


async def test_an_edge_told_late_comes_after_the_timeline_and_says_what_it_is_about(
    feed_file: Path, store: Store, clock: FrozenClock
) -> None:
    """Down over 14:30; an operator wrote at 15:00 without touching the next update; at
    start the edge is told, stamped after 15:00, about 14:30."""
    service, keeper = await started(feed_file, store, clock)
    clock.set(NEXT_UPDATE + dt.timedelta(minutes=30))
    await service.apply(
        UpdateIncident(id="permits-down", message={"es": "Seguimos.", "en": "Still on it."}),
        author="ana",
        source="cli",
    )
    clock.set(NEXT_UPDATE + dt.timedelta(minutes=31))
    assert [e.edge for e in await keeper.tell_due()] == [Edge.NEXT_UPDATE_OVERDUE]
    entry = timeline(feed_file, "permits-down")[-1]
    assert dt.datetime.fromisoformat(str(entry["about"])) == NEXT_UPDATE
    assert dt.datetime.fromisoformat(str(entry["at"])) == clock()


async def test_a_clock_jumping_back_never_sticks_the_scheduler(
    feed_file: Path, store: Store, clock: FrozenClock
) -> None:
    service, keeper = await started(feed_file, store, clock)
    clock.set(NEXT_UPDATE + dt.timedelta(hours=1))
    await service.apply(
        UpdateIncident(id="permits-down", message={"es": "Seguimos.", "en": "Still on it."}),
        author="ana",
        source="cli",
    )
    clock.set(NEXT_UPDATE + SECOND)  # the clock goes back 59 minutes
    assert [e.edge for e in await keeper.tell_due()] == [Edge.NEXT_UPDATE_OVERDUE]
    entries = timeline(feed_file, "permits-down")
    told, before = (dt.datetime.fromisoformat(str(e["at"])) for e in (entries[-1], entries[-2]))
    assert told >= before  # the timeline stays in order: the feed stays valid


@pytest.fixture
def announced_feed(feed_file: Path) -> Path:
    """The fibre works announced two days ahead: a day-before and an hour-before reminder."""
    text = feed_file.read_text("utf-8").replace(
        "    started_at: 2026-11-25T00:00:00+01:00", "    started_at: 2026-11-23T09:00:00+01:00"
    )
    feed_file.write_text(text, "utf-8")
    return feed_file


async def test_a_maintenance_is_reminded_of_a_day_and_an_hour_before_once_each(
    announced_feed: Path, store: Store, clock: FrozenClock
) -> None:
    service, keeper = await started(announced_feed, store, clock)
    reminders = [e.at for e in keeper.upcoming() if e.edge is Edge.MAINTENANCE_REMINDER]
    day_before, hour_before = WINDOW_START - dt.timedelta(hours=24), WINDOW_START - HOUR
    assert reminders == [day_before, hour_before]
    # At noon the day-before reminder is late (nothing ran at midnight): told at once.
    assert [e.edge for e in await keeper.tell_due()] == [Edge.MAINTENANCE_REMINDER]
    clock.set(hour_before + SECOND)
    told = [e.edge for e in await keeper.tell_due()]
    assert Edge.MAINTENANCE_REMINDER in told
    state = service.state
    works = state.feed.incident("fibre-works")
    assert works is not None and works.status is Status.SCHEDULED  # still ahead: a reminder
    assert state.statement("fibre-works", "es").reminders == 2
    entry = timeline(announced_feed, "fibre-works")[-1]
    assert entry["message"]["es"] == "El mantenimiento empieza mañana a las 0:00."
    assert await keeper.tell_due() == []  # once each


async def test_the_reminders_are_the_organizations_to_set(
    announced_feed: Path, store: Store, clock: FrozenClock
) -> None:
    text = announced_feed.read_text("utf-8").replace(
        "  locales: [es, en]", "  locales: [es, en]\n  maintenance_reminders: [PT2H]", 1
    )
    announced_feed.write_text(text, "utf-8")
    _, keeper = await started(announced_feed, store, clock)
    reminders = [e.at for e in keeper.upcoming() if e.edge is Edge.MAINTENANCE_REMINDER]
    assert reminders == [WINDOW_START - dt.timedelta(hours=2)]
