"""The interpreter settings of a long-running process."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import runtime
from bot.runner import settle_heap_once_loaded
from bot.runtime import YOUNG_COLLECTION_EVERY, settle_heap
from bot.service import FeedService
from bot.store import open_store


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


@pytest.mark.usefixtures("restored_gc")
async def test_the_heap_settles_with_the_first_revision_of_the_feed(
    feed_file: Path, tmp_path: Path
) -> None:
    """`unavoz run` freezes the feed it loads at start with start-up: full collections
    then leave its thousands of objects alone (they slowed an edge's revision by ~0.2 s)."""
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as store:
        service = FeedService(feed_file, store)
        settle_heap_once_loaded(service)
        assert gc.get_freeze_count() == 0
        state = await service.start()
    collected = {id(o) for o in gc.get_objects()}  # the frozen ones are not among them
    assert gc.get_freeze_count() > 0
    assert id(state.feed.incidents[0]) not in collected
    assert id(state.feed.organization) not in collected
