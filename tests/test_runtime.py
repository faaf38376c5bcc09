"""The interpreter settings of a long-running process."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot import runtime
from bot.runtime import YOUNG_COLLECTION_EVERY, settle_heap


@pytest.fixture
def restored_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(runtime, "_frozen", False)
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_is_frozen_once_and_young_objects_collected_less_often() -> None:
    _, middle, old = gc.get_threshold()
    settle_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, middle, old)
    kept = [[] for _ in range(100)]  # built after start-up: not frozen by a second call
    settle_heap()
    assert gc.get_freeze_count() == frozen
    assert kept


class Node:
    other: object


@pytest.mark.usefixtures("restored_gc")
def test_cycles_are_still_collected_without_being_asked() -> None:
    settle_heap()
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    kept = [[] for _ in range(3 * YOUNG_COLLECTION_EVERY)]  # allocations, never gc.collect()
    assert gone() is None
    assert kept
