"""What only the PostgreSQL store does: how a claim shares the work and wakes the others, and
how instances queueing notifications at once tell each subscriber once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import asyncpg
import pytest

from bot.delivery.model import DeliveryState, Limit, NewDelivery, Outcome
from bot.store import Place, RevisionRecord, Store, Subscription, open_store
from bot.store.base import Planner
from bot.store.postgres import _CALL, PostgresStore, _call_arguments, numbered
from bot.store.tx import Tx
from tests.pg import fresh_postgres


def plan_for(incident: str, targets: list[str], limit: Limit | None = None) -> Planner:
    async def plan(_: RevisionRecord | None, record: RevisionRecord) -> list[NewDelivery]:
        return [
            NewDelivery(
                record.number, incident, "hook", t, "identified", "f", f"{record.number}{t}", limit
            )
            for t in targets
        ]

    return plan


async def wake_ups(store: PostgresStore, claims: int, *, share: float) -> list[object]:
    """The announcements heard while `claims` claims are made, each sharing `share`."""
    heard: list[object] = []
    await store.listen(heard.append)
    await asyncio.sleep(0.2)
    heard.clear()
    for _ in range(claims):
        await store.claim_deliveries("hook", instance="x", limit=10, lease=30, share=share)
    await asyncio.sleep(0.5)
    return heard


async def test_a_claim_that_leaves_work_wakes_the_others() -> None:
    async with fresh_postgres() as url, open_store(url) as store:
        assert isinstance(store, PostgresStore)
        await store.record_revision(
            "r: 1\n", author="a", source="cli", plan=plan_for("i1", list("abcd"))
        )
        assert len(await wake_ups(store, 1, share=0.5)) == 1  # took 2 of 4, left 2


async def test_no_wake_up_when_nothing_left_may_go() -> None:
    hourly = Limit(1, 3600.0)
    async with fresh_postgres() as url, open_store(url) as store:
        assert isinstance(store, PostgresStore)
        await store.record_revision(
            "r: 1\n", author="a", source="cli", plan=plan_for("i1", list("abc"), hourly)
        )
        first = await store.claim_deliveries("hook", instance="x", limit=10, lease=30)
        done = [Outcome(d, DeliveryState.SENT, sent_at=1.0) for d in first]
        await store.finish_deliveries(done, instance="x")
        # Three heads due, none of which may go for an hour (its target's window is full):
        # idle workers claiming again and again must not wake each other.
        await store.record_revision(
            "r: 2\n", author="a", source="cli", plan=plan_for("i2", list("abc"), hourly)
        )
        assert await wake_ups(store, 5, share=0.5) == []


async def test_a_shared_claim_locks_only_what_it_takes() -> None:
    async with fresh_postgres() as url, open_store(url) as store:
        assert isinstance(store, PostgresStore)
        await store.record_revision(
            "r: 1\n", author="a", source="cli", plan=plan_for("i1", list("abcdefghij"))
        )
        key = await store._queue_key("hook")
        claimer, other = await asyncpg.connect(url), await asyncpg.connect(url)
        try:
            async with claimer.transaction():  # the claim's locks held until it commits
                now = time.time()
                arguments = _call_arguments(key, "hook", now, 10, 0.5, "x", now + 30, [], [], [])
                taken = await claimer.fetch(numbered(_CALL), *arguments)
                assert len(taken) == 5
                # The five heads left to the others are not locked: they can take them now.
                async with other.transaction():
                    free = await other.fetch("SELECT id FROM deliveries FOR UPDATE SKIP LOCKED")
                assert len(free) == 5
                assert not {row["id"] for row in free} & {row["id"] for row in taken}
        finally:
            await claimer.close()
            await other.close()


class _PausedBeforeCommit(PostgresStore):
    """An instance that stops after writing a batch of notifications, before its commit,
    until `release` is set: what another instance does meanwhile is seen."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.paused = asyncio.Event()
        self.release = asyncio.Event()

    async def _enqueue(self, tx: Tx, planned: Sequence[NewDelivery]) -> None:
        await super()._enqueue(tx, planned)
        if planned:
            self.paused.set()
            await self.release.wait()


def tell(record: RevisionRecord, incident: str) -> Callable[[Subscription], NewDelivery]:
    def make(subscription: Subscription) -> NewDelivery:
        return NewDelivery(
            record.number, incident, "tg", subscription.address, "identified", "f", "told"
        )

    return make


async def _two_instances_queue(incidents: tuple[str, str], *, once: bool) -> tuple[int, int]:
    """Instance one queues word of incidents[0] and waits before committing; meanwhile
    instance two queues word of incidents[1]. What each queued."""
    centro = Place.area("centro")
    async with fresh_postgres() as url, open_store(url) as second:
        first = _PausedBeforeCommit(url)
        async with first:
            record, _ = await second.record_revision("r: 1\n", author="a", source="cli")
            for n in range(200):
                await second.subscribe("tg", f"chat-{n}", places=[centro], locale="es")

            async def queue(store: Store, incident: str) -> int:
                return await store.queue_notifications(
                    "tg",
                    incident,
                    revision=record.number,
                    make=tell(record, incident),
                    places=[centro],
                    once=once,
                )

            one = asyncio.create_task(queue(first, incidents[0]))
            await asyncio.wait_for(first.paused.wait(), 10)
            two = asyncio.create_task(queue(second, incidents[1]))
            await asyncio.sleep(0.5)
            # The second waits for the rows the first holds (the same notices, or the same
            # subscriptions' last revision told), rather than telling anyone twice.
            assert not two.done()
            first.release.set()
            return await asyncio.wait_for(one, 10), await asyncio.wait_for(two, 10)


@pytest.mark.parametrize("once", [False, True])
async def test_an_instance_queueing_while_another_does_tells_nobody_twice(once: bool) -> None:
    assert await _two_instances_queue(("i1", "i1"), once=once) == (200, 0)


async def test_two_incidents_told_at_once_to_the_same_subscribers_both_go() -> None:
    assert await _two_instances_queue(("i1", "i2"), once=False) == (200, 200)
