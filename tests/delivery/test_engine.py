"""The outbox and its engine against a real local receiver: order, supersession, faults, limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from pathlib import Path

import pytest

from bot.delivery import consistency
from bot.delivery.engine import Backoff, DeliveryEngine
from bot.delivery.model import Delivery, Limit, Outcome
from bot.delivery.plan import Planner
from bot.feed.changes import ResolveIncident, UpdateIncident
from bot.feed.models import Status
from bot.service import FeedService
from bot.store import Store, StoreError
from channels.webhook import WebhookAdapter
from tests.conftest import NOON
from tests.delivery.conftest import many_incidents, with_webhooks
from tests.standins.webhook import WebhookStandIn

pytestmark = pytest.mark.timeout(60)
FAST = Backoff(base=0.05, cap=0.2)


def make(
    store: Store, feed: Path, *, limits: tuple[Limit, ...] = (), timeout: float = 2.0
) -> tuple[FeedService, DeliveryEngine, WebhookAdapter]:
    channel = WebhookAdapter(limits=limits, timeout=timeout, secret="shh")
    service = FeedService(feed, store, clock=lambda: NOON, planner=Planner([channel], lambda: NOON))
    engine = DeliveryEngine(store, [channel], backoff=FAST, poll=0.05)
    return service, engine, channel


async def drain(engine: DeliveryEngine, channel: WebhookAdapter, store: Store) -> None:
    """Run the engine until nothing is pending."""
    stop = asyncio.Event()
    async with channel:
        task = asyncio.create_task(engine.run(stop))
        try:
            for _ in range(1000):
                counts = await store.delivery_counts()
                if not counts.get("pending") and not counts.get("sending"):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError(f"not drained: {await store.delivery_counts()}")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def test_every_target_hears_every_open_incident_once(
    store: Store, webhook_feed: Path, standin: WebhookStandIn
) -> None:
    service, engine, channel = make(store, webhook_feed)
    await service.start()
    # Open incidents (the outage and the announced maintenance) × 3 targets.
    assert await store.delivery_counts() == {"pending": 6}
    await drain(engine, channel, store)
    assert len(standin.requests) == 6 and standin.raw_duplicates() == 0
    body = next(r.body for r in standin.requests if r.incident == "permits-down")
    assert body["incident"] == "permits-down"
    assert body["eta"] == "2026-11-24T18:00:00+01:00"
    assert "Solución prevista: hoy a las 18:00." in body["text"]["es"]
    revision, channels = await consistency.check(store, ["webhook"])
    assert (revision, channels[0].state, channels[0].targets) == (1, "in_sync", 3)
    ledger = await store.ledger("webhook")
    assert {(e.target, e.incident_id, e.revision) for e in ledger} == {
        (standin.url(f"t{n}"), incident, 1)
        for n in range(3)
        for incident in ("permits-down", "fibre-works")
    }
    # A restart plans nothing new and sends nothing again.
    again, engine2, channel2 = make(store, webhook_feed)
    await again.start()
    await drain(engine2, channel2, store)
    assert len(standin.requests) == 6


async def test_a_bug_while_sending_is_logged_and_the_delivery_tried_again(
    store: Store,
    webhook_feed: Path,
    standin: WebhookStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, engine, channel = make(store, webhook_feed)
    await service.start()
    send, failures = engine._send, itertools.count()

    async def buggy(adapter: WebhookAdapter, delivery: Delivery) -> Outcome:
        if next(failures) < 2:
            raise RuntimeError("a bug of ours")
        return await send(adapter, delivery)

    monkeypatch.setattr(engine, "_send", buggy)
    with caplog.at_level(logging.ERROR, logger="bot.delivery.engine"):
        await drain(engine, channel, store)
    assert caplog.text.count("RuntimeError: a bug of ours") == 2
    assert await store.delivery_counts() == {"sent": 6}
    assert len(standin.requests) == 6


async def test_a_store_that_fails_while_the_engine_idles_is_asked_again(
    store: Store,
    webhook_feed: Path,
    standin: WebhookStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, engine, channel = make(store, webhook_feed)
    asked, failures, failed = store.next_attempt_at, itertools.count(1), asyncio.Event()

    async def flaky(name: str) -> float | None:
        if next(failures) <= 3:
            raise StoreError("the database went away")
        failed.set()
        return await asked(name)

    monkeypatch.setattr(store, "next_attempt_at", flaky)
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="bot.delivery.engine"):
        async with channel:
            task = asyncio.create_task(engine.run(stop))
            await asyncio.wait_for(failed.wait(), 5)  # failed thrice, and asked again
            await service.start()  # a revision after the failures: the engine is still there
            engine.wake()
            for _ in range(500):
                if len(standin.requests) == 6:
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await asyncio.wait_for(task, 10)
    assert "StoreError: the database went away" in caplog.text
    assert len(standin.requests) == 6


async def test_a_target_listed_twice_is_told_once(
    store: Store, feed_file: Path, standin: WebhookStandIn
) -> None:
    text = feed_file.read_text(encoding="utf-8")
    urls = [standin.url("t0"), standin.url("t1"), standin.url("t0")]
    feed_file.write_text(with_webhooks(text, urls), "utf-8")
    service, engine, channel = make(store, feed_file)
    await service.start()
    assert await store.delivery_counts() == {"pending": 4}  # 2 open incidents × 2 targets
    await drain(engine, channel, store)
    assert sorted(r.target for r in standin.requests) == ["t0", "t0", "t1", "t1"]
    assert standin.raw_duplicates() == 0


async def test_requests_are_signed(
    store: Store, webhook_feed: Path, standin: WebhookStandIn
) -> None:
    standin.secret = "shh"
    service, engine, channel = make(store, webhook_feed)
    await service.start()
    await drain(engine, channel, store)
    assert standin.signatures == {"valid": 6}


async def test_a_newer_revision_supersedes_a_waiting_one_but_not_a_status_change(
    store: Store, webhook_feed: Path, standin: WebhookStandIn
) -> None:
    service, engine, channel = make(store, webhook_feed)
    await service.start()  # revision 1: identified, ETA 18:00
    eta = dt.datetime(2026, 11, 24, 17, 0, tzinfo=NOON.tzinfo)
    await service.apply(UpdateIncident(id="permits-down", eta=eta), author="a", source="cli")
    await service.apply(
        UpdateIncident(id="permits-down", status=Status.MONITORING), author="a", source="cli"
    )
    await service.apply(ResolveIncident(id="permits-down"), author="a", source="cli")
    counts = await store.delivery_counts()
    # Revision 2 (same status as 1, new ETA) replaced revision 1's waiting messages; the
    # status changes of revisions 3 (monitoring) and 4 (resolved) all wait to be told.
    assert counts == {"superseded": 3, "pending": 12}
    await drain(engine, channel, store)
    per_target = {
        n: [
            (r.revision, r.body["status"])
            for r in standin.requests
            if r.target == f"t{n}" and r.incident == "permits-down"
        ]
        for n in range(3)
    }
    assert all(
        told == [(2, "identified"), (3, "monitoring"), (4, "resolved")]
        for told in per_target.values()
    )


async def test_faults_are_retried_in_order_without_exceeding_the_ceiling(
    store: Store, feed_file: Path, standin: WebhookStandIn
) -> None:
    targets = [f"t{n}" for n in range(8)]
    text = many_incidents(feed_file.read_text(encoding="utf-8"), 12)
    feed_file.write_text(with_webhooks(text, [standin.url(t) for t in targets]), "utf-8")

    def faults(number: int, target: str) -> tuple[object, ...] | None:
        return {
            1: ("429", 0.3),
            2: ("500",),
            3: ("reset",),
            4: ("slow", 3.0),
            7: ("503",),
            11: ("429", 0.1),
            17: ("reset",),
            29: ("502",),
        }.get(number % 40)

    standin.faults = faults
    service, engine, channel = make(store, feed_file, limits=(Limit(40, 1.0),), timeout=0.5)
    await service.start()
    await service.apply(
        UpdateIncident(id="extra-3", status=Status.IDENTIFIED), author="a", source="cli"
    )
    await drain(engine, channel, store)
    incidents = ["permits-down", "fibre-works", *(f"extra-{n}" for n in range(12))]
    expected = {(t, i) for t in targets for i in incidents}
    latest = standin.latest()
    assert set(latest) == expected
    assert latest[("t0", "extra-3")].body["status"] == "identified"
    assert standin.in_order()
    assert standin.most_in_window(1.0) <= 40
    assert any(code == 429 for _, _, code in standin.answered)
    counts = await store.delivery_counts()
    assert counts == {"sent": len(expected) + len(targets)}


async def test_a_target_rate_limit_spaces_its_messages(
    store: Store, webhook_feed: Path, standin: WebhookStandIn
) -> None:
    service, engine, channel = make(store, webhook_feed)

    original = channel.targets

    def limited(state, incident):  # type: ignore[no-untyped-def]
        from bot.delivery.adapter import Target

        return [Target(t.id, limit=Limit(1, 0.3)) for t in original(state, incident)]

    channel.targets = limited  # type: ignore[method-assign]
    await service.start()
    for hour in (16, 17):
        eta = dt.datetime(2026, 11, 24, hour, 0, tzinfo=NOON.tzinfo)
        await service.apply(
            UpdateIncident(
                id="permits-down",
                eta=eta,
                status=Status.MONITORING if hour == 16 else Status.IDENTIFIED,
            ),
            author="a",
            source="cli",
        )
    await drain(engine, channel, store)
    for n in range(3):
        times = [r.at for r in standin.requests if r.target == f"t{n}"]
        assert len(times) == 4  # the maintenance, then the outage at revisions 1… 3
        assert all(b - a >= 0.3 for a, b in itertools.pairwise(times))


async def test_a_permanent_failure_is_not_retried_and_shows_in_the_audit(
    store: Store, webhook_feed: Path, standin: WebhookStandIn
) -> None:
    standin.faults = lambda number, target: ("403",) if target == "t1" else None
    service, engine, channel = make(store, webhook_feed)
    await service.start()
    await drain(engine, channel, store)
    assert await store.delivery_counts() == {"sent": 4, "failed": 2}
    assert [code for _, t, code in standin.answered if t == "t1"] == [403, 403]
    _, channels = await consistency.check(store, ["webhook"])
    assert channels[0].state == "failing"
    assert "HTTP 403" in (channels[0].last_error or "")
    assert not consistency.healthy(channels, max_lag=300)
