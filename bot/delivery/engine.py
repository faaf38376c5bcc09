"""The delivery engine: drains the outbox through the channels, within their limits, retrying.

Per channel, a few workers each claim a batch (one delivery per target, oldest
first, so a target hears every change in order), send it concurrently, and
record every outcome in one transaction. Limits are enforced twice: when
claiming, counted in the store so every instance shares one budget; and again
just before each request, so latency jitter never pushes a window over its
ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot import metrics
from bot.delivery.model import (
    Delivery,
    DeliveryError,
    DeliveryState,
    Limit,
    Outcome,
    PermanentError,
    RetryLater,
    TransientError,
)
from bot.store import Store
from channels.adapter import ChannelAdapter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: base·2ⁿ, capped, then a random half of it added."""

    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        ceiling: float = min(self.cap, self.base * 2.0 ** max(attempts - 1, 0))
        return ceiling / 2 + ceiling / 2 * float(rng())


class SlidingWindow:
    """At most `limit.count` acquisitions in any `limit.seconds`, measured when they happen."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                while self._times and self._times[0] <= now - self.limit.seconds:
                    self._times.popleft()
                if len(self._times) < self.limit.count:
                    self._times.append(now)
                    return
                await asyncio.sleep(self._times[0] + self.limit.seconds - now + 0.001)


class DeliveryEngine:
    def __init__(
        self,
        store: Store,
        adapters: Sequence[ChannelAdapter],
        *,
        instance: str | None = None,
        workers: int = 3,
        lease: float = 30.0,
        poll: float = 0.5,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store
        self.adapters = {adapter.name: adapter for adapter in adapters}
        self.instance = instance or f"unavoz-{uuid.uuid4().hex[:8]}"
        self.workers = workers
        self.lease = lease
        self.poll = poll
        self.backoff = backoff or Backoff()
        self._wake: dict[str, asyncio.Event] = {name: asyncio.Event() for name in self.adapters}
        self._windows = {
            name: [SlidingWindow(limit) for limit in adapter.limits]
            for name, adapter in self.adapters.items()
        }

    def wake(self) -> None:
        """New deliveries may be waiting: look now rather than at the next poll."""
        for event in self._wake.values():
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; in-flight batches finish and are recorded first."""
        tasks = [
            asyncio.create_task(self._worker(adapter, stop), name=f"deliver-{name}-{n}")
            for name, adapter in self.adapters.items()
            for n in range(self.workers)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def drain_once(self, channel: str) -> int:
        """Claim and send one batch of `channel` (tests and benchmarks step with this)."""
        adapter = self.adapters[channel]
        claimed = await self._claim(adapter)
        if claimed:
            await self._send_batch(adapter, claimed)
        return len(claimed)

    async def _claim(self, adapter: ChannelAdapter) -> list[Delivery]:
        return await self.store.claim_deliveries(
            adapter.name,
            instance=self.instance,
            limit=adapter.batch,
            lease=self.lease,
            limits=adapter.limits,
        )

    async def _worker(self, adapter: ChannelAdapter, stop: asyncio.Event) -> None:
        wake = self._wake[adapter.name]
        while not stop.is_set():
            try:
                claimed = await self._claim(adapter)
            except Exception:
                log.exception("claiming %s deliveries failed; trying again", adapter.name)
                claimed = []
            if claimed:
                await self._send_batch(adapter, claimed)
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(wake, stop), await self._idle_wait(adapter))

    async def _idle_wait(self, adapter: ChannelAdapter) -> float:
        due = await self.store.next_attempt_at(adapter.name)
        if due is None:
            return self.poll
        return min(self.poll, max(0.01, due - time.time()))

    async def _send_batch(self, adapter: ChannelAdapter, claimed: list[Delivery]) -> None:
        gate = asyncio.Semaphore(adapter.concurrency)

        async def one(delivery: Delivery) -> Outcome:
            async with gate:
                return await self._send(adapter, delivery)

        outcomes = await asyncio.gather(*(one(d) for d in claimed))
        # Recorded even if this worker is being cancelled: a sent message must be known sent.
        await asyncio.shield(self.store.finish_deliveries(outcomes, instance=self.instance))

    async def _send(self, adapter: ChannelAdapter, delivery: Delivery) -> Outcome:
        for window in self._windows[adapter.name]:
            await window.acquire()
        started = time.perf_counter()
        try:
            await adapter.deliver(delivery)
        except RetryLater as exc:
            return self._outcome(delivery, "retry_later", retry_in=exc.after, error=str(exc))
        except PermanentError as exc:
            log.warning("%s to %s failed for good: %s", adapter.name, delivery.target, exc)
            return self._outcome(delivery, "failed", error=str(exc))
        except (TransientError, DeliveryError) as exc:
            delay = self.backoff.delay(delivery.attempts)
            return self._outcome(delivery, "retry", retry_in=delay, error=str(exc))
        except Exception as exc:  # a bug in an adapter must not lose the delivery
            log.exception("%s adapter crashed on delivery %d", adapter.name, delivery.id)
            delay = self.backoff.delay(delivery.attempts)
            return self._outcome(delivery, "retry", retry_in=delay, error=repr(exc))
        metrics.DELIVERY_SECONDS.labels(adapter.name).observe(time.perf_counter() - started)
        return self._outcome(delivery, "sent")

    def _outcome(
        self,
        delivery: Delivery,
        result: str,
        *,
        retry_in: float = 0.0,
        error: str | None = None,
    ) -> Outcome:
        metrics.DELIVERIES.labels(delivery.channel, result).inc()
        now = time.time()
        if result == "sent":
            return Outcome(delivery, DeliveryState.SENT, sent_at=now)
        if result == "failed":
            return Outcome(delivery, DeliveryState.FAILED, error=error)
        return Outcome(delivery, DeliveryState.PENDING, error=error, retry_at=now + retry_in)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
