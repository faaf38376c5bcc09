"""The delivery engine: drains the outbox through the channels, within their limits, retrying.

Per channel, a few workers each claim a batch (one delivery per target, oldest
first, so a target hears every change in order), send it concurrently, and
record every outcome in one transaction. Limits are enforced twice: when
claiming, counted in the store so every instance shares one budget; and again
around each request, each slot held until the answer is in, so latency jitter
never pushes the receiver's window over its ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from bot import metrics
from bot.delivery.adapter import ChannelAdapter
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
from bot.store import OutboxStore
from bot.tasks import first_of, settle

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
    """At most `limit.count` requests in any `limit.seconds`, as the receiver counts them.

    A request reaches the receiver at some moment between leaving and its answer
    coming back, and the network decides which. So a slot is held from the moment
    a request is let go until its answer (or failure) is in, and only then starts
    its `limit.seconds`: the request that reuses the slot leaves after that, and so
    arrives a full window after the one before it, however late that one arrived.
    Counting from departure instead lets a slow request and a quick one land in the
    same window (the fan-out bench measured 1,051 arrivals in a second under 1,000/s).
    """

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._in_flight = 0
        self._done: deque[float] = deque()  # when answers came back: always in order
        self._answered = asyncio.Event()
        self._lock = asyncio.Lock()

    def _expire(self, now: float) -> None:
        while self._done and self._done[0] <= now - self.limit.seconds:
            self._done.popleft()

    def free_in(self) -> float:
        """Seconds until the window has room again (0: it has room now).

        With every slot waiting for its answer, when is unknown: a tenth of the window.
        """
        now = self.clock()
        self._expire(now)
        if self._in_flight + len(self._done) < self.limit.count:
            return 0.0
        if not self._done:
            return self.limit.seconds / 10
        return self._done[0] + self.limit.seconds - now

    async def acquire(self) -> None:
        """Wait for a slot; the caller must `release()` it once the answer is in."""
        async with self._lock:
            while True:
                now = self.clock()
                self._expire(now)
                if self._in_flight + len(self._done) < self.limit.count:
                    self._in_flight += 1
                    return
                if self._done:
                    await asyncio.sleep(self._done[0] + self.limit.seconds - now + 0.001)
                else:  # every slot is out: the first answer tells when one frees
                    self._answered.clear()
                    await self._answered.wait()

    def release(self) -> None:
        self._in_flight -= 1
        self._done.append(self.clock())
        self._answered.set()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class DeliveryEngine:
    def __init__(
        self,
        store: OutboxStore,
        adapters: Sequence[ChannelAdapter],
        *,
        instance: str | None = None,
        workers: int = 3,
        lease: float = 30.0,
        poll: float = 0.5,
        backoff: Backoff | None = None,
        shared: bool = False,
    ) -> None:
        self.store = store
        self.adapters = {adapter.name: adapter for adapter in adapters}
        self.instance = instance or f"unavoz-{uuid.uuid4().hex[:8]}"
        self.workers = workers
        self.lease = lease
        self.poll = poll
        # A worker records a batch and claims the next in one transaction. When instances
        # share the store, it takes half of what may go, so the rest (targets its batch
        # released among them) goes to whichever instance claims next: shared, not kept.
        self.shared = shared
        self.backoff = backoff or Backoff()
        self._wake: dict[str, asyncio.Event] = {name: asyncio.Event() for name in self.adapters}
        self.sent = 0  # deliveries this engine has sent (benchmarks and tests watch it)
        # Metric children looked up once: a label lookup per delivery shows in the fan-out bench.
        self._seconds = {name: metrics.DELIVERY_SECONDS.labels(name) for name in self.adapters}
        self._counted = {
            (name, result): metrics.DELIVERIES.labels(name, result)
            for name in self.adapters
            for result in ("sent", "retry", "retry_later", "failed")
        }
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
            await settle(tasks)

    async def drain_once(self, channel: str) -> int:
        """Claim, send and record one batch of `channel` (tests and benchmarks step with this)."""
        adapter = self.adapters[channel]
        claimed = await self._claim(adapter)
        if claimed:
            await self._record(await self._send_batch(adapter, claimed))
        return len(claimed)

    async def _claim(
        self, adapter: ChannelAdapter, finished: Sequence[Outcome] = (), limit: int | None = None
    ) -> list[Delivery]:
        return await self.store.claim_deliveries(
            adapter.name,
            instance=self.instance,
            limit=adapter.batch if limit is None else limit,
            lease=self.lease,
            limits=adapter.limits,
            finished=finished,
            # Sharing the store, take half of what may go; the store calls the others.
            share=0.5 if self.shared else 1.0,
        )

    async def _record(self, outcomes: Sequence[Outcome]) -> None:
        # Recorded even if this worker is being cancelled: a sent message must be known sent.
        await asyncio.shield(self.store.finish_deliveries(outcomes, instance=self.instance))

    def in_flight_cap(self, adapter: ChannelAdapter) -> int:
        """How many deliveries one worker keeps claimed at a time.

        Its batch — but under rate limits, no more than the windows let go within a
        quarter of a lease: a claim waiting longer for its turn would expire, be taken
        again, and its message told twice.
        """
        cap = adapter.batch
        for limit in adapter.limits:
            window_share = limit.count * (self.lease / 4) / limit.seconds / self.workers
            cap = min(cap, int(window_share))
        return max(1, cap)

    async def _worker(self, adapter: ChannelAdapter, stop: asyncio.Event) -> None:
        """Keep up to `in_flight_cap` deliveries claimed, `adapter.concurrency` on their way.

        The worker claims again (recording what has finished in the same transaction)
        while half of its deliveries are still to send or on their way, so the requests
        never wait for the database; and as soon as a quarter has finished, because a
        target's next message can only be claimed once the one before it is recorded.
        A fixed set of senders takes the claimed deliveries in order: no task and no
        semaphore per delivery.
        """
        wake = self._wake[adapter.name]
        most = self.in_flight_cap(adapter)
        low_water = most // 2
        waiting: deque[Delivery] = deque()  # claimed, not yet on their way
        in_flight = 0  # claimed and not finished: waiting or on their way
        finished: list[Outcome] = []  # sent, retried or failed: not yet recorded
        arrived = asyncio.Event()  # an outcome was added to `finished`
        claimed_more = asyncio.Event()  # deliveries were added to `waiting` (or: stopping)
        draining = False  # stopping: the senders end once `waiting` is empty
        starved = False  # the last claim found nothing: claim again once something changed

        async def sender() -> None:
            nonlocal in_flight
            while True:
                while not waiting:
                    if draining:
                        return
                    claimed_more.clear()
                    await claimed_more.wait()
                delivery = waiting.popleft()
                try:
                    outcome = await self._send(adapter, delivery)
                except Exception as exc:  # a bug of ours: the delivery is tried again
                    log.exception("sending %s delivery %d failed", adapter.name, delivery.id)
                    retry_in = self.backoff.delay(delivery.attempts)
                    outcome = self._outcome(delivery, "retry", retry_in=retry_in, error=repr(exc))
                finally:
                    in_flight -= 1
                finished.append(outcome)
                arrived.set()

        senders = [
            asyncio.create_task(sender(), name=f"send-{adapter.name}-{n}")
            for n in range(max(1, min(adapter.concurrency, most)))
        ]
        try:
            while not stop.is_set():
                # Claim when the pipe runs low (unless the last claim came back empty), or
                # once enough have finished: recorded, their targets' next messages may go.
                enough = len(finished) >= max(1, low_water // 2) or (finished and not in_flight)
                low = in_flight <= low_water and not starved
                if (low or enough) and in_flight < most:
                    batch, finished = finished, []
                    try:
                        claimed = await asyncio.shield(
                            self._claim(adapter, batch, most - in_flight)
                        )
                    except Exception:
                        log.exception("claiming %s deliveries failed; trying again", adapter.name)
                        finished = batch + finished
                        await asyncio.sleep(self.poll)
                        continue
                    starved = not claimed
                    if claimed:
                        log.debug(
                            "%s claimed %d %s deliveries",
                            self.instance,
                            len(claimed),
                            adapter.name,
                        )
                        in_flight += len(claimed)
                        waiting.extend(claimed)
                        claimed_more.set()
                        continue
                if in_flight:
                    # One wake-up per batch of answers, however many are on their way.
                    if not arrived.is_set():
                        try:
                            async with asyncio.timeout(self.poll):
                                await arrived.wait()
                        except TimeoutError:
                            starved = False  # a poll's time has passed: look again
                    arrived.clear()
                    continue
                if finished:
                    continue
                wake.clear()
                try:
                    idle = await self._idle_wait(adapter)
                except Exception:  # the store is down: it is asked again after a poll
                    log.exception("asking when %s deliveries fall due failed", adapter.name)
                    idle = self.poll
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(first_of(wake, stop), idle)
                starved = False
        finally:
            # Stopping, what was claimed is sent; cancelled (or failing), what is on its way
            # is cut off and what waits is abandoned to its lease. What has finished is
            # recorded first, and again whatever ends meanwhile, even if the wait is cut
            # short: a sent message must be known sent.
            draining = True
            if not stop.is_set():
                waiting.clear()
            claimed_more.set()
            try:
                if finished:
                    batch, finished = finished, []
                    await self._record(batch)
            finally:
                try:
                    if not stop.is_set():
                        for task in senders:
                            task.cancel()
                    for result in await asyncio.gather(*senders, return_exceptions=True):
                        if isinstance(result, Exception):
                            log.error("a %s sender failed", adapter.name, exc_info=result)
                finally:
                    if finished:
                        await self._record(finished)

    async def _idle_wait(self, adapter: ChannelAdapter) -> float:
        """How long to sleep when nothing could be claimed.

        Until the earliest retry falls due, if that is sooner than the poll. A delivery
        already due but not claimable waits behind its target's message in flight (whose
        worker claims it next, in the same transaction) or for a rate window to open:
        polling faster would only spin on the database.
        """
        full = [w.free_in() for w in self._windows[adapter.name]]
        if any(full):  # a ceiling was reached: come back exactly when it lifts
            return min(self.poll, max(full) + 0.001)
        due = await self.store.next_attempt_at(adapter.name)
        now = time.time()
        if due is None or due <= now:
            return self.poll
        return min(self.poll, max(0.01, due - now))

    async def _send_batch(self, adapter: ChannelAdapter, claimed: list[Delivery]) -> list[Outcome]:
        gate = asyncio.Semaphore(adapter.concurrency)

        async def one(delivery: Delivery) -> Outcome:
            async with gate:
                return await self._send(adapter, delivery)

        return list(await asyncio.gather(*(one(d) for d in claimed)))

    async def _send(self, adapter: ChannelAdapter, delivery: Delivery) -> Outcome:
        started = time.perf_counter()
        windows = self._windows[adapter.name]
        try:
            if windows:
                async with contextlib.AsyncExitStack() as slots:
                    for window in windows:
                        await slots.enter_async_context(window.slot())
                    started = time.perf_counter()
                    await adapter.deliver(delivery)
            else:
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
        self._seconds[adapter.name].observe(time.perf_counter() - started)
        return self._outcome(delivery, "sent")

    def _outcome(
        self,
        delivery: Delivery,
        result: str,
        *,
        retry_in: float = 0.0,
        error: str | None = None,
    ) -> Outcome:
        self._counted[(delivery.channel, result)].inc()
        now = time.time()
        if result == "sent":
            self.sent += 1
            return Outcome(delivery, DeliveryState.SENT, sent_at=now)
        if result == "failed":
            return Outcome(delivery, DeliveryState.FAILED, error=error)
        return Outcome(delivery, DeliveryState.PENDING, error=error, retry_at=now + retry_in)
