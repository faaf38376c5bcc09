"""What an adapter's exception means for its delivery, and the outcome recorded for it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.delivery.engine import Backoff, Verdict, judge
from bot.delivery.model import (
    Delivery,
    DeliveryError,
    DeliveryState,
    PermanentError,
    RetryLater,
    TransientError,
)
from bot.store import Store
from tests.delivery.test_engine import make

STEADY = Backoff(base=2.0, cap=2.0)  # every delay between 1 and 2 s, whatever the attempt


def delivery(attempts: int = 1) -> Delivery:
    return Delivery(
        7, "k" * 32, 1, "permits-down", "webhook", "t0", "identified", "f", "{}", attempts
    )


def test_the_channel_saying_when_to_come_back_is_obeyed() -> None:
    verdict = judge(RetryLater(2.5), attempts=3, backoff=STEADY)
    assert verdict == Verdict("retry_later", 2.5, "rate limited; retry after 2.5 s")


def test_a_refusal_for_good_is_not_retried() -> None:
    verdict = judge(PermanentError("HTTP 403"), attempts=1, backoff=STEADY)
    assert verdict == Verdict("failed", error="HTTP 403")
    outcome = verdict.outcome(delivery(), now=1000.0)
    assert (outcome.state, outcome.error, outcome.retry_at) == (
        DeliveryState.FAILED,
        "HTTP 403",
        None,
    )


@pytest.mark.parametrize("error", [TransientError("HTTP 503"), DeliveryError("odd answer")])
def test_other_delivery_errors_are_retried_after_a_backoff(error: DeliveryError) -> None:
    verdict = judge(error, attempts=4, backoff=STEADY)
    assert (verdict.result, verdict.error, verdict.bug) == ("retry", str(error), False)
    assert 1.0 <= verdict.retry_in <= 2.0


def test_a_bug_is_retried_and_flagged_for_its_traceback() -> None:
    verdict = judge(KeyError("chat_id"), attempts=1, backoff=STEADY)
    assert (verdict.result, verdict.error, verdict.bug) == ("retry", "KeyError('chat_id')", True)
    assert 1.0 <= verdict.retry_in <= 2.0


def test_a_retry_is_due_its_delay_after_now() -> None:
    outcome = Verdict("retry", 1.5, "HTTP 500").outcome(delivery(), now=1000.0)
    assert (outcome.state, outcome.error, outcome.retry_at) == (
        DeliveryState.PENDING,
        "HTTP 500",
        1001.5,
    )


def test_the_backoff_doubles_from_its_base_up_to_its_cap() -> None:
    backoff = Backoff(base=1.0, cap=10.0)
    assert [backoff.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 10, 10]
    assert [backoff.delay(n, rng=lambda: 0.0) for n in (1, 2, 3)] == [0.5, 1, 2]


async def test_a_channel_that_crashes_loses_nothing_and_says_why_in_the_log(
    store: Store, webhook_feed: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, engine, channel = make(store, webhook_feed)  # never started: deliver() raises
    with caplog.at_level(logging.ERROR, logger="bot.delivery.engine"):
        outcome = await engine._send(channel, delivery(attempts=2))
    assert outcome.state == DeliveryState.PENDING
    assert outcome.error == "RuntimeError('the webhook channel is not started')"
    assert outcome.retry_at is not None and engine.sent == 0
    assert "webhook adapter crashed on delivery 7" in caplog.text
    assert "Traceback" in caplog.text
