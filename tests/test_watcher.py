"""The watched file: a good edit becomes a revision within a second; a bad one is logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.service import FeedService
from bot.store import open_store
from bot.watcher import watch_feed

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def watched(feed_file: Path, tmp_path: Path) -> AsyncIterator[FeedService]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as store:
        service = FeedService(feed_file, store)
        await service.start()
        stop = asyncio.Event()
        task = asyncio.create_task(watch_feed(service, stop))
        await asyncio.sleep(0.2)  # let the watcher register before the test edits
        try:
            yield service
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)


async def wait_for_revision(service: FeedService, number: int, within: float) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while service.state.revision.number < number:
        if loop.time() - started > within:
            raise AssertionError(f"revision {number} did not arrive within {within} s")
        await asyncio.sleep(0.02)
    return loop.time() - started


async def test_a_hand_edit_becomes_a_revision_within_a_second(watched: FeedService) -> None:
    text = watched.feed_path.read_text(encoding="utf-8")
    watched.feed_path.write_text(text.replace("severity: major", "severity: critical"), "utf-8")
    await wait_for_revision(watched, 2, within=1.0)
    assert watched.state.revision.source == "file"
    assert watched.state.feed.incident("permits-down").severity == "critical"  # type: ignore[union-attr]


async def test_a_bad_edit_is_logged_with_its_line_and_changes_nothing(
    watched: FeedService, caplog: pytest.LogCaptureFixture
) -> None:
    text = watched.feed_path.read_text(encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="bot.watcher"):
        watched.feed_path.write_text(text.replace("areas: [centro]", "areas: [mars]"), "utf-8")
        for _ in range(100):
            if watched.last_problems:
                break
            await asyncio.sleep(0.02)
    assert watched.state.revision.number == 1
    assert f"{watched.feed_path}:39: unknown area 'mars'" in caplog.text
    # The fix is picked up as usual.
    watched.feed_path.write_text(text.replace("severity: major", "severity: minor", 1), "utf-8")
    await wait_for_revision(watched, 2, within=1.0)
    assert watched.last_problems == []


async def test_an_edit_seen_half_written_ends_with_the_whole_file(watched: FeedService) -> None:
    text = watched.feed_path.read_text(encoding="utf-8")
    edited = text.replace("severity: major", "severity: minor", 1)
    with watched.feed_path.open("w", encoding="utf-8") as handle:
        handle.write(edited[: len(edited) // 2])  # an editor that writes in place, slowly
        handle.flush()
        await asyncio.sleep(0.4)  # long enough for the watcher to read the half file
        handle.write(edited[len(edited) // 2 :])
    await wait_for_revision(watched, 2, within=1.5)
    assert watched.state.loaded.text == edited
    assert (await watched.store.latest_revision()).number == 2  # type: ignore[union-attr]


async def test_an_atomic_rename_is_seen(watched: FeedService) -> None:
    text = watched.feed_path.read_text(encoding="utf-8")
    replacement = watched.feed_path.with_name("status_feed.yaml.new")
    replacement.write_text(text.replace("severity: major", "severity: minor", 1), "utf-8")
    replacement.replace(watched.feed_path)
    await wait_for_revision(watched, 2, within=1.0)
