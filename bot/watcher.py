"""Watches `status_feed.yaml`: a hand edit becomes a revision within a second; a bad one is logged.

The directory is watched, not the file, because editors and our own writers
replace the file by renaming a new one over it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from watchfiles import Change, awatch

from bot.feed.yamlsource import FeedError
from bot.service import FeedService

log = logging.getLogger(__name__)


async def watch_feed(service: FeedService, stop: asyncio.Event) -> None:
    """Reload the feed on every change of its file until `stop` is set."""
    target = service.feed_path.resolve()

    def is_feed(change: Change, path: str) -> bool:
        return change != Change.deleted and Path(path) == target

    async for _changes in awatch(
        target.parent,
        watch_filter=is_feed,
        stop_event=stop,
        debounce=150,
        step=25,
        recursive=False,
    ):
        await reload_logged(service)


async def reload_logged(service: FeedService) -> None:
    try:
        await service.reload_from_file()
    except FeedError as error:
        current = service.state.revision.number if service.has_state else None
        log.error(
            "rejected edit of %s; still telling revision %s:\n%s", service.feed_path, current, error
        )
