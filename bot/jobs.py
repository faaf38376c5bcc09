"""The core's own periodic jobs: the consistency audit and the overdue-promise watch."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot import metrics
from bot.delivery import consistency
from bot.feed.models import Status
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
    """Customers were promised an update or a fix by a time: say loudly when it passed."""
    if not service.has_state:
        return
    now = service.clock()
    overdue = 0
    for incident in service.state.feed.incidents:
        if incident.status is Status.RESOLVED:
            continue
        if incident.next_update_by is not None and incident.next_update_by < now:
            overdue += 1
            log.warning(
                "incident %s: the next update was due at %s",
                incident.id,
                incident.next_update_by.isoformat(),
            )
        if incident.eta is not None and incident.eta < now:
            log.warning(
                "incident %s: its ETA (%s) has passed without resolution",
                incident.id,
                incident.eta.isoformat(),
            )
    metrics.OVERDUE_UPDATES.set(overdue)


def schedule_core_jobs(scheduler: Scheduler, service: FeedService, channels: Sequence[str]) -> None:
    scheduler.every(AUDIT_EVERY, lambda: audit(service, channels), id="audit")
    scheduler.every(DEADLINES_EVERY, lambda: deadlines(service), id="deadlines")
    scheduler.every(PRUNE_EVERY, service.store.prune_send_log, id="prune-send-log", at_start=False)
