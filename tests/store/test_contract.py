"""The store contract, run against every backend: SQLite (file and memory) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.model import Delivery, NewDelivery
from bot.store import (
    AlertMessage,
    Place,
    PlaceCount,
    RevisionRecord,
    Store,
    StoreError,
    Subscription,
    XMention,
    XPost,
    document_hash,
    open_store,
)
from bot.store.sqlite import SqliteStore
from tests.conftest import NOON
from tests.pg import fresh_postgres


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "postgresql":
        async with fresh_postgres() as url, open_store(url) as opened:
            yield opened
        return
    memory = request.param == "sqlite-memory"
    url = "sqlite:///:memory:" if memory else f"sqlite:///{tmp_path}/unavoz.db"
    async with open_store(url) as opened:
        yield opened


async def test_an_empty_store_has_no_revision(store: Store) -> None:
    assert await store.latest_revision() is None
    assert await store.get_revision(1) is None
    assert await store.list_revisions() == []


async def test_revisions_are_numbered_and_keep_who_and_where(store: Store) -> None:
    first, created = await store.record_revision("a: 1\n", author="ana", source="cli")
    assert created and first.number == 1
    second, created = await store.record_revision("a: 2\n", author="file", source="file")
    assert created and second.number == 2
    assert second.content_hash == document_hash("a: 2\n")
    assert second.created_at.tzinfo is not None
    assert await store.latest_revision() == second
    assert await store.get_revision(1) == first


async def test_the_same_document_is_not_recorded_twice(store: Store) -> None:
    first, _ = await store.record_revision("a: 1\n", author="ana", source="cli")
    again, created = await store.record_revision("a: 1\n", author="file", source="file")
    assert not created
    assert again == first
    # Going back to an earlier text is a change, and a new revision.
    await store.record_revision("a: 2\n", author="x", source="api")
    back, created = await store.record_revision("a: 1\n", author="x", source="api")
    assert created and back.number == 3


async def test_a_failing_before_commit_records_nothing(store: Store) -> None:
    async def fail(record: RevisionRecord) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await store.record_revision("a: 1\n", author="a", source="cli", before_commit=fail)
    assert await store.latest_revision() is None
    record, created = await store.record_revision("a: 1\n", author="a", source="cli")
    assert created and record.number == 1


async def test_before_commit_sees_the_record_being_made(store: Store) -> None:
    seen: list[RevisionRecord] = []

    async def remember(record: RevisionRecord) -> None:
        seen.append(record)

    record, _ = await store.record_revision(
        "a: 1\n", author="a", source="cli", before_commit=remember
    )
    assert seen == [record]


async def test_listing_is_newest_first_with_limit_and_before(store: Store) -> None:
    for n in range(1, 8):
        await store.record_revision(f"a: {n}\n", author="a", source="cli")
    assert [r.number for r in await store.list_revisions(limit=3)] == [7, 6, 5]
    assert [r.number for r in await store.list_revisions(limit=3, before=5)] == [4, 3, 2]


async def test_concurrent_writers_get_contiguous_numbers(store: Store) -> None:
    results = await asyncio.gather(
        *(store.record_revision(f"n: {n}\n", author="a", source="api") for n in range(40))
    )
    numbers = sorted(record.number for record, created in results if created)
    assert numbers == list(range(1, 41))


async def test_two_connections_to_one_file_share_revisions(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    async with SqliteStore(path) as one, SqliteStore(path) as two:
        results = await asyncio.gather(
            *(
                (one if n % 2 else two).record_revision(f"n: {n}\n", author="a", source="cli")
                for n in range(30)
            )
        )
        assert sorted(r.number for r, _ in results) == list(range(1, 31))
        assert (await one.latest_revision()) == (await two.latest_revision())


async def test_reopening_keeps_revisions_and_does_not_rerun_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/again.db"
    async with open_store(url) as store:
        await store.record_revision("a: 1\n", author="a", source="cli")
    async with open_store(url) as store:
        latest = await store.latest_revision()
        assert latest is not None and latest.number == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/unavoz", "unknown database URL"),
        ("sqlite://unavoz.db", "a SQLite URL looks like"),
    ],
)
def test_bad_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_sqlite_urls_name_the_file() -> None:
    store = open_store("sqlite:///data/unavoz.db")
    assert isinstance(store, SqliteStore) and store.path == "data/unavoz.db"
    store = open_store("sqlite:////var/lib/unavoz.db")
    assert isinstance(store, SqliteStore) and store.path == "/var/lib/unavoz.db"


# The outbox -------------------------------------------------------------------------------


def planner(*specs: tuple[str, str, str]):  # type: ignore[no-untyped-def]
    """A plan of deliveries (incident, target, status) for whatever revision is recorded."""
    from bot.delivery.model import NewDelivery

    async def plan(previous: RevisionRecord | None, record: RevisionRecord) -> list[NewDelivery]:
        return [
            NewDelivery(record.number, incident, "hook", target, status, "f", f"{record.number}")
            for incident, target, status in specs
        ]

    return plan


async def test_claims_take_one_delivery_per_target_oldest_first(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    plan = planner(("i1", "a", "identified"), ("i2", "a", "identified"), ("i1", "b", "identified"))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    first = await store.claim_deliveries("hook", instance="x", limit=10, lease=30)
    assert [(d.incident_id, d.target, d.attempts) for d in first] == [
        ("i1", "a", 1),
        ("i1", "b", 1),
    ]
    assert await store.claim_deliveries("hook", instance="y", limit=10, lease=30) == []
    await store.finish_deliveries(
        [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in first], instance="x"
    )
    second = await store.claim_deliveries("hook", instance="y", limit=10, lease=30)
    assert [(d.incident_id, d.target) for d in second] == [("i2", "a")]
    ledger = await store.ledger("hook")
    assert {(e.target, e.incident_id, e.revision) for e in ledger} == {
        ("a", "i1", 1),
        ("b", "i1", 1),
    }


async def test_claimers_at_once_take_disjoint_deliveries_and_together_all(store: Store) -> None:
    plan = planner(*((f"i{n % 3}", f"t{n}", "identified") for n in range(60)))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    claims = await asyncio.gather(
        *(store.claim_deliveries("hook", instance=f"w{n}", limit=15, lease=30) for n in range(6))
    )
    ids = [d.id for claimed in claims for d in claimed]
    assert len(ids) == len(set(ids)) == 60  # nobody waited out the others' rows, none twice


async def test_a_queue_keeps_its_head_when_enqueueing_and_finishing_meet(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    for round_ in range(5):
        plan = planner(*((f"i{round_}", f"t{n}", "identified") for n in range(20)))
        await store.record_revision(f"r: {round_}\n", author="a", source="cli", plan=plan)
        claimed = await store.claim_deliveries("hook", instance="x", limit=100, lease=30)
        nxt = planner(*((f"j{round_}", f"t{n}", "identified") for n in range(20)))
        await asyncio.gather(
            store.finish_deliveries(
                [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in claimed], instance="x"
            ),
            store.record_revision(f"r: {round_}b\n", author="a", source="cli", plan=nxt),
        )
        after = await store.claim_deliveries("hook", instance="x", limit=100, lease=30)
        assert {d.target for d in after} == {f"t{n}" for n in range(20)}
        await store.finish_deliveries(
            [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in after], instance="x"
        )


async def test_a_window_limit_caps_claims_and_an_expired_lease_frees_them(store: Store) -> None:
    from bot.delivery.model import Limit

    plan = planner(*((f"i{n}", f"t{n}", "identified") for n in range(5)))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    limits = (Limit(2, 60.0),)
    got = await store.claim_deliveries("hook", instance="x", limit=10, lease=0.0, limits=limits)
    assert len(got) == 2
    later = await store.claim_deliveries("hook", instance="x", limit=10, lease=0.0, limits=limits)
    assert later == []  # the window is spent, although the leases have expired
    freed = await store.claim_deliveries("hook", instance="y", limit=10, lease=30)
    assert {d.target for d in freed} == {f"t{n}" for n in range(5)}  # expired leases reclaimed
    assert {d.attempts for d in freed if d.target in {"t0", "t1"}} == {2}


async def test_supersession_keeps_every_change_of_status(store: Store) -> None:
    await store.record_revision(
        "r: 1\n", author="a", source="cli", plan=planner(("i", "t", "identified"))
    )
    await store.record_revision(
        "r: 2\n", author="a", source="cli", plan=planner(("i", "t", "identified"))
    )
    assert await store.delivery_counts() == {"superseded": 1, "pending": 1}
    await store.record_revision(
        "r: 3\n", author="a", source="cli", plan=planner(("i", "t", "resolved"))
    )
    await store.record_revision(
        "r: 4\n", author="a", source="cli", plan=planner(("i", "t", "identified"))
    )
    # Revision 4 (identified again) may not swallow revision 2: the resolution lies between.
    assert await store.delivery_counts() == {"superseded": 1, "pending": 3}


async def test_retry_and_permanent_failure_are_recorded(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    await store.record_revision(
        "r: 1\n", author="a", source="cli", plan=planner(("i", "t", "identified"), ("i", "u", "x"))
    )
    claimed = await store.claim_deliveries("hook", instance="x", limit=10, lease=30)
    retry, fail = claimed
    await store.finish_deliveries(
        [
            Outcome(retry, DeliveryState.PENDING, error="HTTP 500", retry_at=4e9),
            Outcome(fail, DeliveryState.FAILED, error="HTTP 403"),
        ],
        instance="x",
    )
    assert await store.claim_deliveries("hook", instance="x", limit=10, lease=30) == []
    assert await store.next_attempt_at("hook") == 4e9
    [figures] = await store.channel_figures()
    assert (figures.pending, figures.retrying, figures.failed) == (1, 1, 1)
    assert figures.last_error in {"HTTP 500", "HTTP 403"}


async def test_superseding_a_waiting_head_while_its_predecessor_finishes(store: Store) -> None:
    """Enqueueing supersedes the very delivery an outcome recorded at once promotes."""
    from bot.delivery.model import DeliveryState, Outcome

    plan = planner(*(("i", f"t{n}", "identified") for n in range(20)))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    first = await store.claim_deliveries("hook", instance="x", limit=100, lease=30)
    await store.record_revision("r: 2\n", author="a", source="cli", plan=plan)  # waits
    for round_ in range(3, 6):
        _, (record, _) = await asyncio.gather(
            store.finish_deliveries(
                [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in first], instance="x"
            ),
            store.record_revision(f"r: {round_}\n", author="a", source="cli", plan=plan),
        )
        first = await store.claim_deliveries("hook", instance="x", limit=100, lease=30)
        assert {d.target for d in first} == {f"t{n}" for n in range(20)}
        # The newest: the one waiting behind the finished head was replaced.
        assert {d.revision for d in first} == {record.number}
        await store.record_revision(f"r: {round_}b\n", author="a", source="cli", plan=plan)


async def test_a_claim_records_what_finished_and_takes_each_queues_next(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    plan = planner(*((i, t, "identified") for t in ("a", "b", "c") for i in ("i1", "i2")))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    sent_a, failed_b, retried_c = await store.claim_deliveries(
        "hook", instance="x", limit=10, lease=30
    )
    finished = [
        Outcome(sent_a, DeliveryState.SENT, sent_at=1.0),
        Outcome(failed_b, DeliveryState.FAILED, error="HTTP 403"),
        Outcome(retried_c, DeliveryState.PENDING, error="HTTP 500", retry_at=4e9),
    ]
    # In the same call: a's and b's next go (sent, failed for good); c's waits for its retry.
    after = await store.claim_deliveries(
        "hook", instance="x", limit=10, lease=30, finished=finished
    )
    assert [(d.target, d.incident_id, d.attempts) for d in after] == [
        ("a", "i2", 1),
        ("b", "i2", 1),
    ]
    assert {(e.target, e.incident_id) for e in await store.ledger("hook")} == {("a", "i1")}
    done = [Outcome(d, DeliveryState.SENT, sent_at=2.0) for d in after]
    assert (
        await store.claim_deliveries("hook", instance="x", limit=10, lease=30, finished=done) == []
    )
    assert await store.delivery_counts() == {"sent": 3, "failed": 1, "pending": 2}


async def test_next_deliveries_past_a_claims_limit_wait_for_the_next_claim(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    plan = planner(*((i, t, "identified") for t in ("a", "b", "c") for i in ("i1", "i2")))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    first = await store.claim_deliveries("hook", instance="x", limit=10, lease=30)
    done = [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in first]
    # Three queues' next are ready; a claim of one takes the oldest, the others stay heads.
    [one] = await store.claim_deliveries("hook", instance="x", limit=1, lease=30, finished=done)
    assert (one.target, one.incident_id) == ("a", "i2")
    rest = await store.claim_deliveries("hook", instance="y", limit=10, lease=30)
    assert [(d.target, d.incident_id) for d in rest] == [("b", "i2"), ("c", "i2")]
    assert await store.delivery_counts() == {"sent": 3, "sending": 3}


async def test_a_shared_claim_leaves_the_rest_to_the_next_claimer(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    plan = planner(*((i, f"t{n}", "identified") for n in range(4) for i in ("i1", "i2")))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    mine = await store.claim_deliveries("hook", instance="x", limit=10, lease=30, share=0.5)
    theirs = await store.claim_deliveries("hook", instance="y", limit=10, lease=30)
    assert len(mine) == len(theirs) == 2
    # What `mine` released is shared too: one next message for x, the other for y.
    done = [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in mine]
    again = await store.claim_deliveries(
        "hook", instance="x", limit=10, lease=30, finished=done, share=0.5
    )
    rest = await store.claim_deliveries("hook", instance="y", limit=10, lease=30)
    assert len(again) == len(rest) == 1
    assert {d.target for d in again + rest} == {d.target for d in mine}
    assert {d.incident_id for d in again + rest} == {"i2"}


async def test_a_late_outcome_of_a_lost_claim_lets_nothing_overtake(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    plan = planner(("i1", "t", "identified"), ("i2", "t", "identified"))
    await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    [lost] = await store.claim_deliveries("hook", instance="x", limit=10, lease=0.0)
    [taken] = await store.claim_deliveries("hook", instance="y", limit=10, lease=30)
    assert taken.id == lost.id  # x's lease ran out: y has the delivery now
    # x's failure comes in late: it is not x's to record, and i2 must wait behind i1.
    failed = [Outcome(lost, DeliveryState.FAILED, error="HTTP 403")]
    assert (
        await store.claim_deliveries("hook", instance="x", limit=10, lease=30, finished=failed)
        == []
    )
    assert await store.claim_deliveries("hook", instance="z", limit=10, lease=30) == []
    done = [Outcome(taken, DeliveryState.SENT, sent_at=1.0)]
    after = await store.claim_deliveries("hook", instance="y", limit=10, lease=30, finished=done)
    assert [d.incident_id for d in after] == ["i2"]


async def test_a_plan_naming_a_target_twice_is_refused_and_records_nothing(store: Store) -> None:
    plan = planner(("i1", "a", "identified"), ("i2", "a", "identified"), ("i1", "a", "resolved"))
    with pytest.raises(ValueError, match="names hook target 'a' twice for incident 'i1'"):
        await store.record_revision("r: 1\n", author="a", source="cli", plan=plan)
    assert await store.latest_revision() is None
    assert await store.delivery_counts() == {}


# Subscriptions -------------------------------------------------------------------------

CENTRO, NORTE = Place.area("centro"), Place.area("norte")
P28013, P28014 = Place.postcode("28013"), Place.postcode("28014")
PERMITS = Place.service("permits")


def telling(record: RevisionRecord, incident: str) -> Callable[[Subscription], NewDelivery]:
    """A notification for each subscription: its address told `incident` at `record`."""

    def make(subscription: Subscription) -> NewDelivery:
        return NewDelivery(
            record.number,
            incident,
            subscription.channel,
            subscription.address,
            "identified",
            "f",
            f"{incident} at {record.number}, in {subscription.locale}",
        )

    return make


async def test_subscribing_twice_to_a_place_keeps_one(store: Store) -> None:
    first = await store.subscribe("tg", "chat-1", places=[CENTRO], locale="es", now=NOON)
    assert first.channel == "tg" and first.address == "chat-1"
    assert first.places == (CENTRO,) and first.locale == "es"
    assert first.created_at == NOON and first.last_notified_revision is None
    assert first.incident_ids == first.told_incident_ids == ()
    later = NOON + dt.timedelta(hours=1)
    again = await store.subscribe(
        "tg", "chat-1", places=[PERMITS, CENTRO, P28013], locale="en", now=later
    )
    # One subscription: its places added once each, its language the latest, its age kept.
    assert again.id == first.id and again.created_at == NOON and again.locale == "en"
    assert again.places == (CENTRO, P28013, PERMITS)
    assert await store.subscriptions_of("tg", "chat-1") == [again]
    assert await store.subscription_counts() == [
        PlaceCount("tg", CENTRO, 1),
        PlaceCount("tg", P28013, 1),
        PlaceCount("tg", PERMITS, 1),
    ]


async def test_a_subscription_needs_something_to_hear_about(store: Store) -> None:
    with pytest.raises(ValueError, match="no place and no incident"):
        await store.subscribe("tg", "chat-1", places=[], locale="es")
    with pytest.raises(ValueError, match="a channel and an address"):
        await store.subscribe("tg", "", places=[CENTRO], locale="es")
    assert await store.subscriptions_of("tg", "chat-1") == []


async def test_incidents_asked_about_are_kept_once_each(store: Store) -> None:
    await store.subscribe("phone", "+34600", places=[P28014], locale="es", incident_ids=["i2"])
    asked = await store.subscribe(
        "phone", "+34600", places=[P28014], locale="es", incident_ids=["i1", "i2", "i1"]
    )
    assert asked.incident_ids == ("i1", "i2") and asked.told_incident_ids == ()
    assert asked.places == (P28014,)


async def test_subscriptions_are_per_channel_and_address(store: Store) -> None:
    tg = await store.subscribe("tg", "+34600", places=[CENTRO], locale="es")
    phone = await store.subscribe("phone", "+34600", places=[P28013], locale="en")
    assert tg.id != phone.id
    assert await store.subscriptions_of("tg", "+34600") == [tg]
    assert await store.subscriptions_of("phone", "+34600") == [phone]
    assert await store.subscriptions_of("x", "+34600") == []


async def test_unsubscribing_a_place_and_then_everything(store: Store) -> None:
    await store.subscribe("tg", "chat-1", places=[CENTRO, NORTE], locale="es")
    await store.subscribe("tg", "chat-2", places=[CENTRO], locale="es")
    assert await store.unsubscribe("tg", "chat-1", NORTE) == 1
    assert await store.unsubscribe("tg", "chat-1", NORTE) == 0  # not there any more
    [left] = await store.subscriptions_of("tg", "chat-1")
    assert left.places == (CENTRO,)
    # Its last place gone, the subscription is gone.
    assert await store.unsubscribe("tg", "chat-1", CENTRO) == 1
    assert await store.subscriptions_of("tg", "chat-1") == []
    await store.subscribe("tg", "chat-2", places=[NORTE], locale="es", incident_ids=["i1"])
    assert await store.unsubscribe("tg", "chat-2") == 2
    assert await store.subscriptions_of("tg", "chat-2") == []
    assert await store.unsubscribe("tg", "nobody") == 0
    assert await store.subscription_counts() == []


async def test_subscribers_for_places_are_each_listed_once_by_id(store: Store) -> None:
    a = await store.subscribe("tg", "a", places=[CENTRO, P28013], locale="es")
    b = await store.subscribe("tg", "b", places=[PERMITS], locale="en")
    await store.subscribe("tg", "c", places=[NORTE], locale="es")
    await store.subscribe("x", "d", places=[CENTRO], locale="es")  # another channel
    found = await store.subscribers_for("tg", [P28013, CENTRO, PERMITS])
    assert found == [a, b]  # a once, though two of its places match
    assert await store.subscribers_for("tg", []) == []
    assert await store.subscribers_for("tg", [Place.area("sur")]) == []
    counts = await store.subscription_counts()
    assert PlaceCount("tg", CENTRO, 1) in counts and PlaceCount("x", CENTRO, 1) in counts


async def test_subscription_counts_hold_no_personal_data(store: Store) -> None:
    for n in range(3):
        await store.subscribe("tg", f"chat-{n}", places=[CENTRO], locale="es")
    await store.subscribe("phone", "+34600", places=[P28014], locale="es", incident_ids=["i"])
    assert await store.subscription_counts() == [
        PlaceCount("phone", P28014, 1),
        PlaceCount("tg", CENTRO, 3),
    ]


async def test_each_subscriber_hears_of_an_incident_once_per_revision(store: Store) -> None:
    first, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    for n in range(5):
        await store.subscribe("tg", f"chat-{n}", places=[CENTRO], locale="es")
    await store.subscribe("tg", "both", places=[CENTRO, P28013], locale="es")
    await store.subscribe("tg", "by-name", places=[NORTE], locale="es", incident_ids=["i1"])
    await store.subscribe("tg", "elsewhere", places=[NORTE], locale="es")
    await store.subscribe("x", "other-channel", places=[CENTRO], locale="es")

    async def tell(record: RevisionRecord, incident: str = "i1") -> int:
        return await store.queue_notifications(
            "tg",
            incident,
            revision=record.number,
            make=telling(record, incident),
            places=[CENTRO, P28013],
        )

    assert await tell(first) == 7  # five, "both" once, and the one that asked by name
    assert await tell(first) == 0
    assert await store.delivery_counts() == {"pending": 7}
    # Another incident in the same revision is another thing to tell.
    assert await tell(first, "i2") == 6
    second, _ = await store.record_revision("r: 2\n", author="a", source="cli")
    assert await tell(second) == 7
    assert await tell(first) == 0  # a late call for an older revision tells nobody again
    [named] = await store.subscriptions_of("tg", "by-name")
    assert named.last_notified_revision == second.number
    assert named.incident_ids == named.told_incident_ids == ("i1",)
    [elsewhere] = await store.subscriptions_of("tg", "elsewhere")
    assert elsewhere.last_notified_revision is None
    # (Revision 2's word on i1 replaces revision 1's still waiting, as for any delivery.)
    assert await store.delivery_counts() == {"pending": 13, "superseded": 7}


async def test_once_a_subscriber_is_told_it_is_not_told_again(store: Store) -> None:
    first, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    await store.subscribe("phone", "+34601", places=[P28014], locale="es", incident_ids=["i1"])
    await store.subscribe(
        "phone", "+34602", places=[P28014], locale="en", incident_ids=["i1", "i2"]
    )

    async def call(record: RevisionRecord, incident: str) -> int:
        return await store.queue_notifications(
            "phone", incident, revision=record.number, make=telling(record, incident), once=True
        )

    assert await call(first, "i1") == 2
    second, _ = await store.record_revision("r: 2\n", author="a", source="cli")
    assert await call(second, "i1") == 0  # called once, whatever revision follows
    # Pressing 1 again about an incident already called about does not call again.
    await store.subscribe("phone", "+34601", places=[P28014], locale="es", incident_ids=["i1"])
    assert await call(second, "i1") == 0
    [caller] = await store.subscriptions_of("phone", "+34602")
    assert caller.incident_ids == ("i1", "i2") and caller.told_incident_ids == ("i1",)
    assert await call(second, "i2") == 1
    assert await store.delivery_counts() == {"pending": 3}


async def test_a_failing_make_marks_nobody_told(store: Store) -> None:
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    await store.subscribe("tg", "chat-1", places=[CENTRO], locale="es")

    def broken(subscription: Subscription) -> NewDelivery:
        raise RuntimeError("template missing")

    with pytest.raises(RuntimeError, match="template missing"):
        await store.queue_notifications(
            "tg", "i1", revision=record.number, make=broken, places=[CENTRO]
        )
    [subscription] = await store.subscriptions_of("tg", "chat-1")
    assert subscription.last_notified_revision is None
    assert (
        await store.queue_notifications(
            "tg", "i1", revision=record.number, make=telling(record, "i1"), places=[CENTRO]
        )
        == 1
    )


@pytest.mark.parametrize(("once", "chunk"), [(False, None), (True, None), (False, 7), (True, 7)])
async def test_subscribers_queued_by_several_at_once_are_told_once(
    store: Store, once: bool, chunk: int | None
) -> None:
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    for n in range(50):
        await store.subscribe(
            "phone", f"+3460000{n:04d}", places=[P28013], locale="es", incident_ids=["i1", "i2"]
        )

    async def queue(incident: str) -> int:
        return await store.queue_notifications(
            "phone",
            incident,
            revision=record.number,
            make=telling(record, incident),
            places=[P28013],
            once=once,
            chunk=chunk,
        )

    queued = await asyncio.gather(*(queue(incident) for incident in ["i1", "i2"] * 4))
    assert sum(queued) == 100  # each subscriber of each incident once, whoever queued it
    assert await store.delivery_counts() == {"pending": 100}
    assert await queue("i1") == await queue("i2") == 0


async def test_subscribers_are_queued_in_chunks_each_committed_alone(store: Store) -> None:
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    for n in range(7):
        await store.subscribe("tg", f"chat-{n}", places=[CENTRO], locale="es")
    await store.subscribe("tg", "by-name", places=[NORTE], locale="es", incident_ids=["i1"])
    await store.subscribe("tg", "elsewhere", places=[NORTE], locale="es")
    chunks: list[int] = []
    claims: list[asyncio.Task[list[Delivery]]] = []

    def queued(count: int) -> None:
        chunks.append(count)
        if len(chunks) == 1:  # the senders, woken by the first chunk, find it committed
            claim = store.claim_deliveries("tg", instance="x", limit=100, lease=30)
            claims.append(asyncio.get_running_loop().create_task(claim))

    async def queue() -> int:
        return await store.queue_notifications(
            "tg", "i1", revision=record.number, make=telling(record, "i1"), places=[CENTRO],
            chunk=2, queued=queued,
        )  # fmt: skip

    assert await queue() == 8
    assert chunks == [2, 4, 2]  # each chunk twice the last (up to 16 times the first)
    claimed = [d.target for d in await claims[0]]
    assert claimed[:2] == ["chat-0", "chat-1"]  # in id order
    if isinstance(store, SqliteStore):  # (one transaction at a time: before the second)
        assert len(claimed) == 2
    assert await queue() == 0
    assert chunks == [2, 4, 2]  # (nothing queued: not called)
    rest = await store.claim_deliveries("tg", instance="x", limit=100, lease=30)
    assert sorted(claimed + [d.target for d in rest]) == sorted(
        [f"chat-{n}" for n in range(7)] + ["by-name"]
    )


class Crash(Exception):
    """The process dies here."""


@pytest.mark.parametrize("where", ["between chunks", "inside a chunk"])
@pytest.mark.parametrize("once", [False, True])
async def test_a_crash_between_chunks_resumes_without_duplicates(
    store: Store, where: str, once: bool
) -> None:
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    for n in range(7):
        await store.subscribe("tg", f"chat-{n}", places=[CENTRO], locale="es")
    make = telling(record, "i1")
    made = 0

    def queued(count: int) -> None:
        if where == "between chunks":
            raise Crash

    def crashing(subscription: Subscription) -> NewDelivery:
        nonlocal made
        made += 1
        if where == "inside a chunk" and made == 5:  # the second chunk's second
            raise Crash
        return make(subscription)

    async def queue(make: Callable[[Subscription], NewDelivery], **options: Any) -> int:
        return await store.queue_notifications(
            "tg", "i1", revision=record.number, make=make, places=[CENTRO], once=once, **options
        )

    with pytest.raises(Crash):
        await queue(crashing, chunk=3, queued=queued)
    # The first chunk stays queued and told; nothing of the second is.
    assert await store.delivery_counts() == {"pending": 3}
    told = [s for s in await store.subscribers_for("tg", [CENTRO]) if s.last_notified_revision]
    assert [s.address for s in told] == ["chat-0", "chat-1", "chat-2"]
    # Run again (the revision adopted again at start): the rest, once each.
    assert await queue(make, chunk=3) == 4
    assert await queue(make, chunk=3) == await queue(make) == 0
    sent = await store.claim_deliveries("tg", instance="x", limit=100, lease=30)
    assert sorted(d.target for d in sent) == [f"chat-{n}" for n in range(7)]


async def test_told_stays_told_across_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/unavoz.db"
    async with open_store(url) as store:
        record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
        await store.subscribe("tg", "chat-1", places=[CENTRO], locale="es")
        make = telling(record, "i1")
        assert (
            await store.queue_notifications(
                "tg", "i1", revision=record.number, make=make, places=[CENTRO]
            )
            == 1
        )
    async with open_store(url) as store:
        assert (
            await store.queue_notifications(
                "tg", "i1", revision=record.number, make=make, places=[CENTRO]
            )
            == 0
        )
        assert await store.delivery_counts() == {"pending": 1}


async def test_forgetting_an_address_deletes_what_is_held_about_it(store: Store) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    for address in ("chat-1", "chat-2"):
        await store.subscribe("tg", address, places=[CENTRO], locale="es", incident_ids=["i0"])
        await store.choose_language("tg", address, "en")
    make = telling(record, "i1")
    await store.queue_notifications("tg", "i1", revision=record.number, make=make, places=[CENTRO])
    told = await store.claim_deliveries("tg", instance="x", limit=10, lease=30)
    await store.finish_deliveries(
        [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in told], instance="x"
    )
    make = telling(record, "i2")
    await store.queue_notifications("tg", "i2", revision=record.number, make=make, places=[CENTRO])
    assert [e.target for e in await store.ledger("tg")] == ["chat-1", "chat-2"]

    # Its subscription (its place, its notices of i0, i1, i2), its language, its waiting
    # delivery, its ledger row, and the delivery it was sent (the outbox's history).
    assert await store.forget("tg", "chat-1") == 9  # 1 place, 3 notices, itself, 1, 1 + 1 + 1
    assert await store.subscriptions_of("tg", "chat-1") == []
    assert await store.chosen_language("tg", "chat-1") is None
    assert await store.chosen_language("tg", "chat-2") == "en"
    assert [e.target for e in await store.ledger("tg")] == ["chat-2"]
    waiting = await store.claim_deliveries("tg", instance="x", limit=10, lease=30)
    assert [d.target for d in waiting] == ["chat-2"]
    assert await store.subscription_counts() == [PlaceCount("tg", CENTRO, 1)]
    assert await store.delivery_counts() == {"sent": 1, "sending": 1}  # chat-2's
    assert await store.forget("tg", "chat-1") == 0


async def test_forgetting_goes_through_the_whole_history_range_by_range(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.delivery.model import DeliveryState, Outcome
    from bot.store import sql

    monkeypatch.setattr(sql, "FORGET_RANGE", 1)  # one delivery a transaction
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    for address in ("chat-1", "chat-2"):
        await store.subscribe("tg", address, places=[CENTRO], locale="es")
    for incident in ("i1", "i2", "i3"):
        make = telling(record, incident)
        await store.queue_notifications(
            "tg", incident, revision=record.number, make=make, places=[CENTRO]
        )
        told = await store.claim_deliveries("tg", instance="x", limit=10, lease=30)
        await store.finish_deliveries(
            [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in told], instance="x"
        )
    assert await store.delivery_counts() == {"sent": 6}
    await store.forget("tg", "chat-1")
    assert await store.delivery_counts() == {"sent": 3}  # chat-2's, every one of chat-1's gone


@pytest.mark.parametrize("status", ["identified", "unrecorded"])
async def test_a_delivery_being_sent_when_its_address_is_forgotten_is_gone(
    store: Store, status: str
) -> None:
    from bot.delivery.model import DeliveryState, Outcome

    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    await store.subscribe("tg", "chat-1", places=[CENTRO], locale="es")
    for incident in ("i1", "i2"):
        make = telling(record, incident)
        await store.queue_notifications(
            "tg",
            incident,
            revision=record.number,
            make=lambda s, make=make: dataclasses.replace(make(s), status=status),  # type: ignore[misc]
            places=[CENTRO],
        )
    [sending] = await store.claim_deliveries("tg", instance="x", limit=10, lease=30)
    # Its place, its notices of i1 and i2, itself, the delivery being sent and i2's waiting.
    assert await store.forget("tg", "chat-1") == 6
    done = [Outcome(sending, DeliveryState.SENT, sent_at=1.0)]
    assert await store.claim_deliveries("tg", instance="x", limit=10, lease=30, finished=done) == []
    assert await store.delivery_counts() == {}
    # Sent in that last moment: on the ledger, unless it was the /forget's confirmation
    # (UNRECORDED), sent by the adapter that forgets while it sends it.
    if status == "unrecorded":
        assert await store.ledger("tg") == []
    else:
        assert [e.incident_id for e in await store.ledger("tg")] == ["i1"]
        assert await store.forget("tg", "chat-1") == 1


async def test_a_chosen_language_is_kept_changed_and_dropped(store: Store) -> None:
    assert await store.chosen_language("tg", "chat-1") is None
    await store.choose_language("tg", "chat-1", "en")
    await store.choose_language("tg", "chat-1", "es")
    await store.choose_language("phone", "chat-1", "en")
    assert await store.chosen_language("tg", "chat-1") == "es"
    await store.choose_language("tg", "chat-1", None)
    assert await store.chosen_language("tg", "chat-1") is None
    assert await store.chosen_language("phone", "chat-1") == "en"


async def test_a_revision_cursor_only_goes_forward(store: Store) -> None:
    assert await store.revision_cursor("notify") is None
    await store.advance_revision_cursor("notify", 3)
    await store.advance_revision_cursor("notify", 2)
    assert await store.revision_cursor("notify") == 3
    await store.advance_revision_cursor("notify", 5)
    assert await store.revision_cursor("notify") == 5
    assert await store.revision_cursor("other") is None


# What an older store held: callers who pressed 1 (one row per caller and incident), one
# of them called already, as the phone's ledger shows; another queued, its call not made.
_OLD_CALLBACKS = [
    "INSERT INTO revisions VALUES (1, 'h1', 'a', 'cli', '2026-11-24T10:00:00+00:00', 'r: 1')",
    "INSERT INTO revisions VALUES (2, 'h2', 'a', 'cli', '2026-11-24T11:00:00+00:00', 'r: 2')",
    "INSERT INTO payloads VALUES ('p', '<Response/>')",
    "INSERT INTO ledger (channel, target, incident_id, revision, fingerprint, status,"
    " payload_hash, delivered_at) VALUES ('phone', '+34700', 'i1', 1, 'f', 'resolved', 'p', 1)",
    "INSERT INTO callbacks (phone, postcode, locale, incident_id, state, created_at) VALUES"
    " ('+34600', '28014', 'es', 'i1', 'waiting', 10.0),"
    " ('+34600', '28014', 'es', 'i2', 'queued', 11.0),"
    " ('+34600', '28013', 'en', 'i3', 'waiting', 12.0),"
    " ('+34700', '28013', 'es', 'i1', 'queued', 13.0)",
]


async def _store_before_subscriptions(dialect: str, url: str, tmp_path: Path) -> None:
    """Make the store at `url` as a release before migration 6 left it, with callbacks."""
    from bot.store.sqlite import migrations, statements

    old = [(v, sql) for v, sql in migrations(dialect) if v < 6]
    if dialect == "sqlite":
        import sqlite3

        connection = sqlite3.connect(tmp_path / "unavoz.db", isolation_level=None)
        connection.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"
        )
        for version, sql in old:
            for statement in statements(sql):
                connection.execute(statement)
            connection.execute("INSERT INTO schema_migrations VALUES (?, 'then')", (version,))
        for statement in _OLD_CALLBACKS:
            connection.execute(statement)
        connection.close()
        return
    import asyncpg

    pg = await asyncpg.connect(url)
    try:
        await pg.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL)"
        )
        for version, sql in old:
            for statement in statements(sql):
                await pg.execute(statement)
            await pg.execute("INSERT INTO schema_migrations VALUES ($1, now())", version)
        for statement in _OLD_CALLBACKS:
            await pg.execute(statement)
    finally:
        await pg.close()


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_callbacks_become_subscriptions_of_the_phone(dialect: str, tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if dialect == "sqlite":
            url = f"sqlite:///{tmp_path}/unavoz.db"
        else:
            url = await stack.enter_async_context(fresh_postgres())
        await _store_before_subscriptions(dialect, url, tmp_path)
        store = await stack.enter_async_context(open_store(url))
        [caller] = await store.subscriptions_of("phone", "+34600")
        assert caller.places == (P28013, P28014) and caller.locale == "en"  # of the latest
        assert caller.created_at == dt.datetime.fromtimestamp(10.0, dt.UTC)
        assert caller.incident_ids == ("i1", "i2", "i3")
        # Queued, not yet called: told at no later than the latest revision.
        assert caller.told_incident_ids == ("i2",) and caller.last_notified_revision == 2
        [called] = await store.subscriptions_of("phone", "+34700")
        assert called.told_incident_ids == ("i1",) and called.last_notified_revision == 1
        assert await store.subscription_counts() == [
            PlaceCount("phone", P28013, 2),
            PlaceCount("phone", P28014, 1),
        ]
        # Those waiting are still owed their call, once; those called are not called again.
        latest = await store.get_revision(2)
        assert latest is not None
        for incident, owed in (("i1", 1), ("i2", 0), ("i3", 1), ("i1", 0)):
            assert owed == await store.queue_notifications(
                "phone", incident, revision=2, make=telling(latest, incident), once=True
            )
        # The old table is gone (its rows, personal data, live in the subscriptions now).
        with pytest.raises(Exception, match="callbacks"):
            async with store._transaction() as tx:  # type: ignore[attr-defined]
                await tx.fetch("SELECT count(*) FROM callbacks")


async def test_deliveries_queued_outside_a_plan_are_queued_once(store: Store) -> None:
    """Replies and alerts: the same outbox, and the same key queued twice (a message heard
    again after a restart, say) is one delivery, telling the revision current then."""
    record, _ = await store.record_revision("v1", author="ana", source="cli")
    reply = NewDelivery(
        revision=record.number,
        incident_id="reply:chat-1:42",
        channel="customer",
        target="chat-1",
        status="reply",
        fingerprint="-",
        payload='{"text": "hola"}',
    )
    assert await store.enqueue([reply]) == 1
    assert await store.enqueue([reply]) == 0
    assert await store.enqueue([]) == 0
    assert (await store.delivery_counts()).get("pending") == 1


# X: threads, the mentions inbox, the poll cursor ----------------------------------------


async def test_an_x_post_is_recorded_once_per_delivery_and_a_thread_has_a_tip(
    store: Store,
) -> None:
    first = XPost("key-1", "post:es:permits-down", "101", "Caída", 1, 10.0)
    assert await store.x_record_post(first) == first
    # A retry that found the post again records nothing new: the first record wins.
    again = XPost("key-1", "post:es:permits-down", "999", "Caída", 1, 11.0)
    assert await store.x_record_post(again) == first
    second = XPost("key-2", "post:es:permits-down", "102", "Arreglado", 2, 12.0)
    await store.x_record_post(second)
    await store.x_record_post(XPost("key-3", "post:en:permits-down", "103", "Down", 1, 13.0))
    assert await store.x_thread_tip("post:es:permits-down") == second
    assert await store.x_thread_tip("post:es:other") is None
    assert await store.x_post_of("key-1") == first
    assert await store.x_post_of("nope") is None
    assert await store.x_posts_with_text("Caída") == [first]


def _mention(post_id: str, minute: int, **changes: object) -> XMention:
    base = XMention(
        post_id=post_id,
        author_id="u1",
        author_handle="vecina_ana",
        text="@unavoz ¿cuándo vuelve? 😡 شكرا",
        locale="es",
        created_at=dt.datetime(2026, 11, 24, 11, minute, tzinfo=dt.UTC),
        revision=1,
        incident_ids=("permits-down",),
        draft="@vecina_ana Permisos: caída…",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_x_mentions_are_kept_once_newest_first_with_the_cursor(store: Store) -> None:
    older, newer = _mention("201", 1), _mention("202", 2, incident_ids=())
    added = await store.x_add_mentions([older, newer], cursor=("since_id", "202"))
    assert added == [older, newer]
    assert await store.x_add_mentions([newer], cursor=("since_id", "202")) == []
    assert await store.x_cursor("since_id") == "202"
    assert await store.x_cursor("other") is None
    assert [m.post_id for m in await store.x_mentions()] == ["202", "201"]
    assert await store.x_mention("201") == older
    assert (await store.x_mentions(limit=1))[0].incident_ids == ()


async def test_a_mention_is_handled_once_and_its_reply_queued_with_it(store: Store) -> None:
    record, _ = await store.record_revision("v1", author="ana", source="cli")
    await store.x_add_mentions([_mention("301", 1), _mention("302", 2)])
    reply = NewDelivery(
        revision=record.number,
        incident_id="permits-down",
        channel="x",
        target="mention:301",
        status="identified",
        fingerprint="-",
        payload='{"text": "@vecina_ana hola", "in_reply_to": "301"}',
    )
    handled = await store.x_handle_mention(
        "301",
        state="replied",
        by="marta",
        at=50.0,
        reply=reply,
        reply_text="@vecina_ana hola",
        override_reason="the crew called: fixed",
        overridden='[{"kind": "resolved"}]',
    )
    assert handled
    assert not await store.x_handle_mention("301", state="dismissed", by="luis", at=51.0)
    assert (await store.delivery_counts()).get("pending") == 1
    done = await store.x_mention("301")
    assert done is not None
    assert (done.state, done.handled_by, done.reply_revision) == ("replied", "marta", 1)
    assert done.reply_key == reply.idempotency_key
    assert done.override_reason == "the crew called: fixed"
    assert await store.x_handle_mention("302", state="dismissed", by="luis", at=52.0)
    assert [m.post_id for m in await store.x_mentions(state="new")] == []


async def test_x_threads_say_what_waits_what_fails_and_the_last_post(store: Store) -> None:
    record, _ = await store.record_revision("v1", author="ana", source="cli")
    waiting = NewDelivery(
        record.number,
        "permits-down",
        "x",
        "post:en:permits-down",
        "identified",
        "f",
        '{"text": "Down"}',
    )
    await store.enqueue([waiting])
    await store.x_record_post(XPost("k", "post:es:permits-down", "1", "Caída", 1, 5.0))
    threads = {t.thread: t for t in await store.x_threads()}
    assert threads["post:en:permits-down"].pending == 1
    assert threads["post:en:permits-down"].waiting_statuses == ("identified",)
    assert threads["post:es:permits-down"].last_revision == 1
    assert threads["post:es:permits-down"].pending == 0


# Telegram ----------------------------------------------------------------------------------


def _alert(
    message_id: int, revision: int, *, kind: str = "alert", target: str = "-100"
) -> AlertMessage:
    return AlertMessage(
        target=target,
        message_id=message_id,
        chat_id=target,
        incident_id="i1",
        revision=revision,
        group_id="wardens",
        kind=kind,
        delivery_key=f"k{message_id}-{target}",
        text=f"alert {revision}",
        sent_at=100.0 + message_id,
    )


async def test_the_update_offset_is_kept_per_bot_and_never_goes_back(store: Store) -> None:
    assert await store.update_offset("123") is None
    await store.save_update_offset("123", 10)
    await store.save_update_offset("123", 7)
    await store.save_update_offset("456", 3)
    assert await store.update_offset("123") == 10
    assert await store.update_offset("456") == 3


async def test_an_alert_is_recorded_once_per_delivery_and_older_ones_are_to_supersede(
    store: Store,
) -> None:
    first = _alert(1, 1)
    assert await store.record_alert(first, escalate_at=700.0) == first
    later = dataclasses.replace(first, message_id=5, text="sent again")
    assert await store.record_alert(later) == first  # the first record of a delivery stays
    assert await store.alert_of_delivery(first.delivery_key) == first
    assert await store.alert_of_delivery("nope") is None
    second = _alert(2, 2)
    await store.record_alert(second, escalate_at=800.0)
    assert [a.message_id for a in await store.alerts_to_supersede("-100", "i1", 2)] == [1]
    await store.mark_superseded("-100", [1], by=2)
    assert await store.alerts_to_supersede("-100", "i1", 2) == []
    assert (await store.alert_message("-100", 1)).superseded_by == 2  # type: ignore[union-attr]
    assert [a.message_id for a in await store.latest_alerts("i1")] == [2]
    # The newer alert ended the older one's escalation.
    assert [(p.revision, p.stage) for p in await store.due_escalations(1000.0)] == [(2, 0)]


async def test_acks_count_for_the_current_alert_and_stale_ones_are_marked(store: Store) -> None:
    for message_id, revision in ((1, 1), (2, 2)):
        await store.record_alert(_alert(message_id, revision), escalate_at=500.0)
    assert await store.record_ack("-100", 99, user_id="7", user_name="Ana", at=1.0) is None
    stale = await store.record_ack("-100", 1, user_id="7", user_name="Ana", at=2.0)
    assert stale is not None and stale[0].stale
    assert [p.revision for p in await store.due_escalations(600.0)] == [2]
    current = await store.record_ack("-100", 2, user_id="8", user_name="Luis", at=3.0)
    assert current is not None and not current[0].stale and current[0].revision == 2
    again = await store.record_ack("-100", 2, user_id="8", user_name="Luis", at=4.0)
    assert again is not None and again[0].at == 3.0 and len(again[1]) == 1
    assert await store.due_escalations(600.0) == []
    assert [(a.user_name, a.stale) for a in await store.acks_for("i1")] == [
        ("Ana", True),
        ("Luis", False),
    ]


async def test_an_escalation_step_happens_once_with_its_messages(store: Store) -> None:
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    await store.record_alert(_alert(1, record.number), escalate_at=50.0)
    [pending] = await store.due_escalations(60.0)
    repeat = NewDelivery(record.number, "i1#repeat", "staff", "-100", "identified", "f", "{}")
    steps = await asyncio.gather(
        *(
            store.advance_escalation(pending, stage=1, due_at=120.0, deliveries=[repeat])
            for _ in range(4)
        )
    )
    assert sorted(steps) == [False, False, False, True]
    assert (await store.delivery_counts()).get("pending") == 1
    assert await store.due_escalations(60.0) == []
    [later] = await store.due_escalations(120.0)
    assert later.stage == 1
    await store.record_ack("-100", 1, user_id="7", user_name="Ana", at=100.0)
    assert not await store.advance_escalation(later, stage=2, due_at=0.0, deliveries=[])


async def test_a_migrated_chat_is_remembered_and_operators_warned_once(store: Store) -> None:
    assert await store.chat_moves() == {}
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")

    def warning(new: str) -> NewDelivery:
        return NewDelivery(record.number, f"moved:-4000:{new}", "staff", "-9", "notice", "n", new)

    moved = await asyncio.gather(
        *(store.move_chat("-4000", "-1004000", 1.0, warnings=[warning("-1004000")]) for _ in "1234")
    )
    assert sorted(moved) == [False, False, False, True]
    assert (await store.delivery_counts()).get("pending") == 1
    assert await store.move_chat("-4000", "-1004001", 2.0, warnings=[warning("-1004001")])
    assert await store.chat_moves() == {"-4000": "-1004001"}
    assert (await store.delivery_counts()).get("pending") == 2
    assert [(m.target, m.moved_to, m.at) for m in await store.moved_chats()] == [
        ("-4000", "-1004001", 2.0)
    ]


async def test_an_operators_draft_is_kept_replaced_dropped_and_expires(store: Store) -> None:
    assert await store.operator_draft("-9", "7") is None
    await store.save_operator_draft("-9", "7", '{"a": 1}', at=100.0, expire_before=0.0)
    await store.save_operator_draft("-9", "7", '{"a": 2}', at=200.0, expire_before=0.0)
    await store.save_operator_draft("7", "7", '{"b": 1}', at=300.0, expire_before=0.0)
    assert await store.operator_draft("-9", "7") == ('{"a": 2}', 200.0)
    # Saving one deletes those left too long (here: before 250).
    await store.save_operator_draft("8", "8", "{}", at=400.0, expire_before=250.0)
    assert await store.operator_draft("-9", "7") is None
    assert await store.operator_draft("7", "7") == ('{"b": 1}', 300.0)
    await store.drop_operator_draft("7", "7")
    assert await store.operator_draft("7", "7") is None
