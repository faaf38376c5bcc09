"""The store contract, run against every backend: SQLite (file and memory) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import RevisionRecord, Store, StoreError, document_hash, open_store
from bot.store.sqlite import SqliteStore
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


async def test_callers_queued_by_several_at_once_are_called_once(store: Store) -> None:
    from bot.delivery.model import NewDelivery
    from bot.store.sql import Callback, SqlStore

    assert isinstance(store, SqlStore)
    record, _ = await store.record_revision("r: 1\n", author="a", source="cli")
    for n in range(20):
        await store.add_callbacks(f"+3460000{n:04d}", "28013", "es", ["i1", "i2"])

    def call(callback: Callback) -> NewDelivery:
        return NewDelivery(
            record.number, callback.incident_id, "phone", callback.phone, "resolved", "f", "<x/>"
        )

    queued = await asyncio.gather(*(store.queue_callbacks(["i1", "i2"], call) for _ in range(4)))
    assert sum(queued) == 40  # each caller of each incident once, whoever queued it
    assert await store.delivery_counts() == {"pending": 40}
    assert await store.queue_callbacks(["i1", "i2"], call) == 0
