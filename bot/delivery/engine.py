"""The delivery engine: drains the outbox through the channels, within their limits, retrying.

Per channel, a few workers each keep a pipe of claimed deliveries (one per target,
oldest first, so a target hears every change in order), send them concurrently, and
record the outcomes in the transaction of their next claim. Limits are enforced
twice: when claiming, counted in the store so every instance shares one budget; and
again around each request, each slot held until the answer is in, so latency jitter
never pushes the receiver's window over its ceiling.

The parts: `Backoff` (when to try again), `judge` (what an adapter's exception means
for its delivery), `SlidingWindow` (a ceiling, per request), `Pipe` (when a worker
claims and how many), `ChannelWorker` (one worker's claims, senders and outcomes) and
`DeliveryEngine`, which runs the workers of every channel.
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
from typing import Literal

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


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an attempt that did not get through means for its delivery."""

    result: Literal["retry", "retry_later", "failed"]  # as the metric counts it
    retry_in: float = 0.0  # seconds from now; retries only
    error: str = ""
    bug: bool = False  # not a DeliveryError: a bug, worth its traceback in the log

    @classmethod
    def crashed(cls, error: Exception, attempts: int, backoff: Backoff) -> Verdict:
        """A bug, an adapter's or ours: it must not lose the delivery, so it is tried again."""
        return cls("retry", backoff.delay(attempts), repr(error), bug=True)

    def outcome(self, delivery: Delivery, now: float) -> Outcome:
        if self.result == "failed":
            return Outcome(delivery, DeliveryState.FAILED, error=self.error)
        return Outcome(
            delivery, DeliveryState.PENDING, error=self.error, retry_at=now + self.retry_in
        )


def judge(error: Exception, attempts: int, backoff: Backoff) -> Verdict:
    """What `error`, raised on a delivery's `attempts`-th attempt (this one included), means.

    The channel's own word on when to come back comes first; a refusal for good is not
    retried; anything else is tried again after a backoff.
    """
    if isinstance(error, RetryLater):
        return Verdict("retry_later", error.after, str(error))
    if isinstance(error, PermanentError):
        return Verdict("failed", error=str(error))
    if isinstance(error, DeliveryError):  # a TransientError, or an adapter's own kind
        return Verdict("retry", backoff.delay(attempts), str(error))
    return Verdict.crashed(error, attempts, backoff)


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


@dataclass(slots=True)
class Pipe:
    """How many deliveries one worker holds claimed, and so when it claims again, and how many.

    It claims while half of them are still to send or on their way, so the requests never
    wait for the database; and as soon as a quarter of them have finished, because a
    target's next message can only be claimed once the one before it is recorded. After
    a claim that found nothing, only the latter, until something changes (`starved`).
    """

    most: int  # held at a time, at most (`DeliveryEngine.in_flight_cap`)
    in_flight: int = 0  # claimed and not finished: waiting for a sender or on their way
    starved: bool = False  # the last claim found nothing

    def to_claim(self, finished: int) -> int:
        """How many to claim now, `finished` outcomes waiting to be recorded (0: not now)."""
        low_water = self.most // 2
        enough = finished >= max(1, low_water // 2) or (finished > 0 and not self.in_flight)
        low = self.in_flight <= low_water and not self.starved
        if (low or enough) and self.in_flight < self.most:
            return self.most - self.in_flight
        return 0


class DeliveryEngine:
    """Runs `workers` workers per channel; holds what they share: store, windows, metrics."""

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
            asyncio.create_task(
                ChannelWorker(self, adapter, stop).run(), name=f"deliver-{name}-{n}"
            )
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
        except Exception as exc:
            return self._not_sent(adapter, delivery, exc)
        self._seconds[adapter.name].observe(time.perf_counter() - started)
        return self._sent(delivery)

    def _sent(self, delivery: Delivery) -> Outcome:
        self._counted[(delivery.channel, "sent")].inc()
        self.sent += 1
        return Outcome(delivery, DeliveryState.SENT, sent_at=time.time())

    def _not_sent(self, adapter: ChannelAdapter, delivery: Delivery, error: Exception) -> Outcome:
        """The outcome of an attempt on which the adapter raised `error`."""
        verdict = judge(error, delivery.attempts, self.backoff)
        if verdict.bug:
            log.error(
                "%s adapter crashed on delivery %d", adapter.name, delivery.id, exc_info=error
            )
        elif verdict.result == "failed":
            log.warning("%s to %s failed for good: %s", adapter.name, delivery.target, error)
        return self._judged(delivery, verdict)

    def _judged(self, delivery: Delivery, verdict: Verdict) -> Outcome:
        self._counted[(delivery.channel, verdict.result)].inc()
        return verdict.outcome(delivery, time.time())


class ChannelWorker:
    """One of a channel's workers: what it holds claimed, its senders, what they finished.

    It keeps up to `Pipe.most` deliveries claimed and `adapter.concurrency` of them on
    their way, recording what has finished in the transaction of its next claim. A fixed
    set of senders takes the claimed deliveries in order: no task and no semaphore per
    delivery.
    """

    def __init__(
        self, engine: DeliveryEngine, adapter: ChannelAdapter, stop: asyncio.Event
    ) -> None:
        self.engine = engine
        self.adapter = adapter
        self.stop = stop
        self.pipe = Pipe(engine.in_flight_cap(adapter))
        self.waiting: deque[Delivery] = deque()  # claimed, not yet on their way
        self.finished: list[Outcome] = []  # sent, retried or failed: not yet recorded
        self.arrived = asyncio.Event()  # an outcome was added to `finished`
        self.claimed_more = asyncio.Event()  # deliveries were added to `waiting` (or: stopping)
        self.draining = False  # stopping: the senders end once `waiting` is empty

    async def run(self) -> None:
        """Claim, send and record until `stop` is set, then wind down."""
        senders = [
            asyncio.create_task(self.send(), name=f"send-{self.adapter.name}-{n}")
            for n in range(max(1, min(self.adapter.concurrency, self.pipe.most)))
        ]
        try:
            while not self.stop.is_set():
                await self.step()
        finally:
            await self.wind_down(senders)

    async def step(self) -> None:
        """One turn: claim if the pipe wants more; else wait for answers, or for work."""
        wanted = self.pipe.to_claim(len(self.finished))
        if wanted and await self.claim(wanted):
            return
        if self.pipe.in_flight:
            await self.await_answers()
        elif not self.finished:  # else the next turn claims, recording them
            await self.idle()

    async def claim(self, count: int) -> bool:
        """Record what has finished and claim up to `count` more, in one transaction.

        True when the worker should look again at once: it claimed some, or the claim
        failed (then after a poll, with what had finished kept for the next claim).
        """
        engine = self.engine
        batch, self.finished = self.finished, []
        try:
            claimed = await asyncio.shield(engine._claim(self.adapter, batch, count))
        except Exception:
            log.exception("claiming %s deliveries failed; trying again", self.adapter.name)
            self.finished = batch + self.finished
            await asyncio.sleep(engine.poll)
            return True
        self.pipe.starved = not claimed
        if not claimed:
            return False
        log.debug("%s claimed %d %s deliveries", engine.instance, len(claimed), self.adapter.name)
        self.pipe.in_flight += len(claimed)
        self.waiting.extend(claimed)
        self.claimed_more.set()
        return True

    async def await_answers(self) -> None:
        """Wait for outcomes: one wake-up per batch of answers, however many are on their way."""
        if not self.arrived.is_set():
            try:
                async with asyncio.timeout(self.engine.poll):
                    await self.arrived.wait()
            except TimeoutError:
                self.pipe.starved = False  # a poll's time has passed: look again
        self.arrived.clear()

    async def idle(self) -> None:
        """Nothing held: sleep until woken, stopped, or a retry or a rate window falls due."""
        wake = self.engine._wake[self.adapter.name]
        wake.clear()
        try:
            idle = await self.engine._idle_wait(self.adapter)
        except Exception:  # the store is down: it is asked again after a poll
            log.exception("asking when %s deliveries fall due failed", self.adapter.name)
            idle = self.engine.poll
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first_of(wake, self.stop), idle)
        self.pipe.starved = False

    async def send(self) -> None:
        """One sender: the claimed deliveries, in order, one at a time, until drained."""
        engine, adapter, waiting = self.engine, self.adapter, self.waiting
        while True:
            while not waiting:
                if self.draining:
                    return
                self.claimed_more.clear()
                await self.claimed_more.wait()
            delivery = waiting.popleft()
            try:
                outcome = await engine._send(adapter, delivery)
            except Exception as exc:  # a bug of ours: the delivery is tried again
                log.exception("sending %s delivery %d failed", adapter.name, delivery.id)
                verdict = Verdict.crashed(exc, delivery.attempts, engine.backoff)
                outcome = engine._judged(delivery, verdict)
            finally:
                self.pipe.in_flight -= 1
            self.finished.append(outcome)
            self.arrived.set()

    async def wind_down(self, senders: list[asyncio.Task[None]]) -> None:
        """End the senders and record what they finished.

        Stopping, what was claimed is sent; cancelled (or failing), what is on its way is
        cut off and what waits is abandoned to its lease. What has finished is recorded
        first, and again whatever ends meanwhile, even if the wait is cut short: a sent
        message must be known sent.
        """
        self.draining = True
        if not self.stop.is_set():
            self.waiting.clear()
        self.claimed_more.set()
        try:
            if self.finished:
                batch, self.finished = self.finished, []
                await self.engine._record(batch)
        finally:
            try:
                if not self.stop.is_set():
                    for task in senders:
                        task.cancel()
                for result in await asyncio.gather(*senders, return_exceptions=True):
                    if isinstance(result, Exception):
                        log.error("a %s sender failed", self.adapter.name, exc_info=result)
            finally:
                if self.finished:
                    await self.engine._record(self.finished)
