"""The per-request rate window: a slot counts from the answer, so arrivals keep their spacing."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery.engine import SlidingWindow
from bot.delivery.model import Limit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_slot_starts_its_window_when_the_answer_comes_back() -> None:
    clock = Clock()
    window = SlidingWindow(Limit(2, 1.0), clock=clock)
    await window.acquire()
    await window.acquire()
    assert window.free_in() == pytest.approx(0.1)  # both out: unknown, look again soon
    clock.now = 100.5
    window.release()  # the first answer took half a second
    assert window.free_in() == pytest.approx(1.0)  # a full window from that answer
    clock.now = 101.4
    assert window.free_in() == pytest.approx(0.1)  # not from when it left
    clock.now = 101.5
    assert window.free_in() == 0.0
    await window.acquire()
    assert window.free_in() == pytest.approx(0.1)


async def test_a_waiting_request_goes_once_a_slot_has_been_answered_a_window_ago() -> None:
    window = SlidingWindow(Limit(1, 0.05))
    await window.acquire()
    waiting = asyncio.create_task(window.acquire())
    await asyncio.sleep(0.1)
    assert not waiting.done()  # the first request is still waiting for its answer
    window.release()
    await asyncio.sleep(0.02)
    assert not waiting.done()  # answered, but its window has not passed
    await asyncio.wait_for(waiting, 1.0)


async def test_a_failed_request_still_holds_its_slot_for_a_window() -> None:
    clock = Clock()
    window = SlidingWindow(Limit(1, 1.0), clock=clock)
    with pytest.raises(ConnectionResetError):
        async with window.slot():
            raise ConnectionResetError
    assert window.free_in() == pytest.approx(1.0)


def test_under_a_ceiling_a_worker_claims_no_more_than_it_can_send_within_its_lease() -> None:
    from bot.delivery.engine import DeliveryEngine
    from channels.webhook import WebhookAdapter

    def cap(limits: tuple[Limit, ...], lease: float) -> int:
        channel = WebhookAdapter(secret="x", limits=limits)
        return DeliveryEngine(None, [channel], workers=3, lease=lease).in_flight_cap(channel)

    assert cap((), 10.0) == WebhookAdapter.batch  # no ceiling: the whole batch
    assert cap((Limit(30, 1.0),), 10.0) == 25  # 30/s × 2.5 s, shared by 3 workers
    assert cap((Limit(30, 1.0), Limit(20, 60.0)), 10.0) == 1  # the tighter window rules
    assert cap((Limit(1000, 1.0),), 30.0) == WebhookAdapter.batch
