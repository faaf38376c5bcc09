"""The core's own periodic jobs: the consistency audit and the overdue-promise watch."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot import metrics
from bot.delivery import consistency
from bot.edges import overdue_promises
from bot.feed.models import Edge
from bot.scheduler import Scheduler
from bot.service import FeedService

log = logging.getLogger(__name__)

AUDIT_EVERY = 30.0  # seconds
DEADLINES_EVERY = 60.0
PRUNE_EVERY = 600.0
MAX_LAG = 300.0  # seconds a channel may lag before the audit says so


async def audit(service: FeedService, channels: Sequence[str], max_lag: float = MAX_LAG) -> None:
    revision, found = await consistency.check(service.store, channels)
    for channel in found:
        for state in (consistency.IN_SYNC, consistency.LAGGING, consistency.FAILING):
            metrics.CHANNEL_STATE.labels(channel.channel, state).set(
                1 if channel.state == state else 0
            )
        if channel.state == consistency.FAILING:
            log.error("channel %s is failing: %s", channel.channel, channel.last_error)
        elif (
            channel.state == consistency.LAGGING
            and channel.lag_seconds(service.clock().timestamp()) > max_lag
        ):
            log.warning(
                "channel %s lags %d revisions behind %d",
                channel.channel,
                channel.behind_revisions,
                revision,
            )


async def deadlines(service: FeedService) -> None:
    """How many promised next updates are overdue now, for /metrics (the timekeeper says each
    one loudly, once, when it falls due)."""
    if not service.has_state:
        return
    overdue = overdue_promises(service.state.feed, service.clock())
    metrics.OVERDUE_UPDATES.set(sum(1 for e in overdue if e.edge is Edge.NEXT_UPDATE_OVERDUE))


def schedule_core_jobs(scheduler: Scheduler, service: FeedService, channels: Sequence[str]) -> None:
    scheduler.every(AUDIT_EVERY, lambda: audit(service, channels), id="audit")
    scheduler.every(DEADLINES_EVERY, lambda: deadlines(service), id="deadlines")
    scheduler.every(PRUNE_EVERY, service.store.prune_send_log, id="prune-send-log", at_start=False)
