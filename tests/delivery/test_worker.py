"""One worker, step by step, against a real store and receiver: claims, senders, winding down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.engine import ChannelWorker
from bot.delivery.model import DeliveryState, Outcome
from bot.store import Store, StoreError
from channels.webhook import WebhookAdapter
from tests.delivery.test_engine import make
from tests.standins.webhook import WebhookStandIn

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def worker(store: Store, webhook_feed: Path) -> AsyncIterator[ChannelWorker]:
    """A worker of the webhook channel; its feed has 2 open incidents × 3 targets."""
    service, engine, channel = make(store, webhook_feed)
    engine.poll = 0.002  # a failed claim waits a poll before the next
    await service.start()
    async with channel:
        yield ChannelWorker(engine, channel, asyncio.Event())


async def sent_by_one_sender(worker: ChannelWorker) -> list[Outcome]:
    """Let one sender take everything claimed, and return what it finished."""
    sender = asyncio.create_task(worker.send())
    while worker.pipe.in_flight:
        worker.arrived.clear()
        await asyncio.wait_for(worker.arrived.wait(), 5)
    worker.draining = True
    worker.claimed_more.set()
    await asyncio.wait_for(sender, 1)
    worker.draining = False
    return worker.finished


async def test_a_target_has_one_delivery_claimed_at_a_time(
    worker: ChannelWorker, store: Store, standin: WebhookStandIn
) -> None:
    assert worker.pipe.most == WebhookAdapter.batch
    assert await worker.claim(worker.pipe.to_claim(0))
    assert len(worker.waiting) == worker.pipe.in_flight == 3  # one per target, of 6
    # Each target's next message waits for the one before it to be recorded.
    assert not await worker.claim(worker.pipe.to_claim(0))
    assert worker.pipe.starved and worker.pipe.to_claim(0) == 0
    finished = await sent_by_one_sender(worker)
    assert [outcome.state for outcome in finished] == [DeliveryState.SENT] * 3
    assert worker.pipe.in_flight == 0 and len(standin.requests) == 3
    # Recorded in the claim that takes each target's next message.
    assert await worker.claim(worker.pipe.to_claim(len(finished)))
    assert worker.finished == [] and worker.pipe.in_flight == 3
    assert await store.delivery_counts() == {"sent": 3, "sending": 3}


async def test_a_failed_claim_keeps_what_finished_and_winding_down_records_it(
    worker: ChannelWorker, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await worker.claim(worker.pipe.to_claim(0))
    finished = list(await sent_by_one_sender(worker))

    async def down(*args: object, **kwargs: object) -> None:
        raise StoreError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(store, "claim_deliveries", down)
        assert await worker.claim(worker.pipe.to_claim(3))  # look again after a poll
    assert worker.finished == finished and worker.pipe.in_flight == 0
    await worker.wind_down([])  # cancelled now, it still records what was sent
    assert worker.finished == []
    assert await store.delivery_counts() == {"sent": 3, "pending": 3}


async def test_stopping_sends_what_was_claimed_and_records_it(
    worker: ChannelWorker, store: Store, standin: WebhookStandIn
) -> None:
    await worker.claim(worker.pipe.to_claim(0))
    worker.stop.set()
    await asyncio.wait_for(worker.run(), 5)  # no more claims: winds down at once
    assert len(standin.requests) == 3
    assert await store.delivery_counts() == {"sent": 3, "pending": 3}


async def test_cancelled_what_waits_for_a_sender_is_left_to_its_lease(
    worker: ChannelWorker, store: Store, standin: WebhookStandIn
) -> None:
    await worker.claim(worker.pipe.to_claim(0))
    sender = asyncio.create_task(worker.send())  # not yet started when cancelled
    await worker.wind_down([sender])  # as when cancelled: `stop` is not set
    assert sender.cancelled() and not worker.waiting and not standin.requests
    assert await store.delivery_counts() == {"sending": 3, "pending": 3}
