"""Which deliveries a new revision needs: every target whose message about an incident changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence

from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.model import NewDelivery
from bot.feed.models import Feed, Incident
from bot.state import FeedState


class Planner:
    def __init__(
        self,
        adapters: Sequence[ChannelAdapter],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.adapters = list(adapters)
        self.clock = clock

    def plan(self, previous: FeedState | None, current: FeedState) -> list[NewDelivery]:
        """Deliveries for `current`: what changed since `previous`, for every target.

        Both revisions are rendered at the same moment, so only a change of content —
        not the clock moving from "today" to "yesterday" — makes a message.
        A resolved incident that is new to the feed is history: nothing is sent.
        """
        now = self.clock()
        earlier = {i.id: i for i in previous.feed.incidents} if previous is not None else {}
        # Everything but the incidents unchanged (organization, areas, channels…): an
        # incident equal to its earlier self renders as before, so it needs no look. A
        # revision touching one incident of thousands plans that one.
        same_frame = previous is not None and _same_frame(previous.feed, current.feed)
        planned: list[NewDelivery] = []
        for incident in current.feed.incidents:
            before = earlier.get(incident.id)
            if before is None and not incident.is_open:
                continue
            if same_frame and (before is incident or before == incident):
                continue
            fingerprint = current.statement(incident.id).facts_fingerprint()
            told = _newly_told(previous, before, current, incident)
            for adapter in self.adapters:
                planned.extend(
                    self._for_incident(
                        adapter, previous, before, current, incident, now, fingerprint, told
                    )
                )
                planned.extend(adapter.follow_ups(before, current, incident, now))
        return planned

    def _for_incident(
        self,
        adapter: ChannelAdapter,
        previous: FeedState | None,
        before: Incident | None,
        current: FeedState,
        incident: Incident,
        now: dt.datetime,
        fingerprint: str,
        promise_told: bool,
    ) -> list[NewDelivery]:
        """`promise_told`: a promise fell due in this revision, which is told even in the
        same words (see `_newly_told`)."""
        told_before = {}
        if previous is not None and before is not None:
            told_before = {
                target.id: adapter.payload(previous, before, target, now)
                for target in _once_each(adapter.targets(previous, before))
            }
        out = []
        for target in _once_each(adapter.targets(current, incident)):
            if not incident.is_open and target.id not in told_before:
                continue  # a new target is not told about incidents already over
            payload = adapter.payload(current, incident, target, now)
            if told_before.get(target.id) == payload and not promise_told:
                continue
            out.append(
                NewDelivery(
                    revision=current.revision.number,
                    incident_id=incident.id,
                    channel=adapter.name,
                    target=target.id,
                    status=incident.status.value,
                    fingerprint=fingerprint,
                    payload=payload,
                    target_limit=target.limit,
                )
            )
        return out


def _newly_told(
    previous: FeedState | None, before: Incident | None, current: FeedState, incident: Incident
) -> bool:
    """Whether the scheduler told a promise of `incident` as fallen due in `current` (ETA
    passed, update overdue, a maintenance reminder; see `bot.edges`). It changes what is
    owed but maybe not the words rendered now: at this moment the earlier revision, too,
    says the time has passed, while what was sent said otherwise. A promise withdrawn (a
    new ETA after one passed) is not: its words change, or were told already."""
    if previous is None or before is None:
        return False
    old, new = previous.statement(before.id), current.statement(incident.id)
    return (
        (new.eta_passed and not old.eta_passed)
        or (new.next_update_overdue and not old.next_update_overdue)
        or new.reminders > old.reminders
    )


def _same_frame(before: Feed, after: Feed) -> bool:
    return all(
        getattr(before, name) == getattr(after, name)
        for name in type(after).model_fields
        if name != "incidents"
    )


def _once_each(targets: Iterable[Target]) -> Iterator[Target]:
    """`targets` without repeats: a target listed twice (one URL under two names) is told
    once, as its first listing says."""
    seen: set[str] = set()
    for target in targets:
        if target.id not in seen:
            seen.add(target.id)
            yield target
