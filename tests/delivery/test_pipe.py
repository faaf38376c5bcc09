"""When a worker claims again, and how many: the pipe's arithmetic, case by case."""

from __future__ import annotations

import pytest

from bot.delivery.engine import Pipe

# (most, in flight, starved, finished waiting to be recorded) → how many to claim now
CASES = [
    pytest.param(64, 0, False, 0, 64, id="empty: fill it"),
    pytest.param(64, 32, False, 0, 32, id="half still out: top it up"),
    pytest.param(64, 33, False, 0, 0, id="more than half out, none finished: wait"),
    pytest.param(64, 40, False, 15, 0, id="fewer than a quarter finished: wait"),
    pytest.param(64, 40, False, 16, 24, id="a quarter finished: record them, claim"),
    pytest.param(64, 64, False, 0, 0, id="full"),
    pytest.param(64, 0, True, 0, 0, id="starved, nothing changed: do not spin"),
    pytest.param(64, 0, True, 1, 64, id="starved, one finished: its target may go on"),
    pytest.param(64, 10, True, 1, 0, id="starved, one finished of many out: wait"),
    pytest.param(64, 10, True, 16, 54, id="starved, a quarter finished"),
    pytest.param(1, 0, False, 0, 1, id="a pipe of one: empty"),
    pytest.param(1, 1, False, 0, 0, id="a pipe of one: full"),
    pytest.param(1, 0, True, 1, 1, id="a pipe of one: finished, starved"),
]


@pytest.mark.parametrize(("most", "in_flight", "starved", "finished", "expected"), CASES)
def test_a_pipe_claims_when_it_runs_low_or_enough_have_finished(
    most: int, in_flight: int, starved: bool, finished: int, expected: int
) -> None:
    pipe = Pipe(most, in_flight=in_flight, starved=starved)
    assert pipe.to_claim(finished) == expected
