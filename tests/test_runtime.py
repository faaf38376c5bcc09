"""The interpreter settings of a long-running process."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.runtime import YOUNG_COLLECTION_EVERY, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_is_frozen_and_young_objects_collected_less_often() -> None:
    _, middle, old = gc.get_threshold()
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, middle, old)


@pytest.mark.usefixtures("restored_gc")
def test_cycles_are_still_collected() -> None:
    settle_heap()

    class Node:
        other: object

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
