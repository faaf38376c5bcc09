"""The timekeeper: tells each time edge of the feed at its instant, once (a scheduler job).

It keeps the feed's pending edges sorted (re-read at every revision), and a
leader-only job looks at the soonest every `EVERY` seconds: what has come due is
written as one revision by `scheduler` (see `bot/edges.py`), so every channel
switches in that revision. Edges that fell due while nothing ran are told at start.
"""

from __future__ import annotations

import logging

from bot import metrics
from bot.edges import WHAT_HAPPENS, DueEdge, EdgePlan, due_now
from bot.feed.changes import ChangeError, EdgeToTell, TellEdges
from bot.feed.models import Edge
from bot.feed.yamlsource import FeedError
from bot.scheduler import Scheduler
from bot.service import FeedService, InvalidHandEdit
from bot.state import FeedState

log = logging.getLogger(__name__)
EVERY = 0.5  # seconds between looks at the soonest edge: an edge is told within a second
AUTHOR = "scheduler"


class Timekeeper:
    def __init__(self, service: FeedService) -> None:
        self.service = service
        self._plan = EdgePlan()  # the pending edges, kept from revision to revision
        self._waiting_on_file: str | None = None  # the problem already logged
        service.subscribe(self._replan)

    def schedule(self, scheduler: Scheduler, every: float = EVERY) -> None:
        scheduler.every(every, self.tell_due, id="time-edges")

    async def _replan(self, state: FeedState) -> None:
        self._plan.update(state.feed)

    def upcoming(self) -> list[DueEdge]:
        """Every edge still to tell, soonest first."""
        return list(self._pending())

    def _pending(self) -> list[DueEdge]:
        # (The plan answers at once for the feed it planned last.)
        return self._plan.update(self.service.state.feed) if self.service.has_state else []

    async def tell_due(self) -> list[DueEdge]:
        """Tell every edge whose instant has come, in one revision; what was told."""
        if not self.service.has_state:
            return []
        due = due_now(self._pending(), self.service.clock())  # looks at the head only
        if not due:
            return []
        change = TellEdges(
            id=",".join(sorted({e.incident_id for e in due})),
            edges=[EdgeToTell(incident=e.incident_id, edge=e.edge, at=e.at) for e in due],
        )
        try:
            state = await self.service.apply(change, author=AUTHOR, source="scheduler")
        except InvalidHandEdit as error:  # someone's edit of the file: wait for its fix
            return self._wait_on_file(str(error))
        except ChangeError:
            # Each was told already or changed by an operator first: nothing to say.
            self._plan.rebuild(self.service.state.feed)
            return []
        except FeedError as error:
            return self._wait_on_file(str(error))
        self._waiting_on_file = None
        self._plan.update(state.feed)  # as told to `_replan`, unless the revision was skipped
        for edge in due:
            metrics.EDGES_TOLD.labels(edge.edge.value).inc()
            level = logging.WARNING if edge.edge in _ALERTS else logging.INFO
            log.log(
                level,
                "incident %s: %s at %s — %s",
                edge.incident_id,
                edge.edge.value,
                edge.at.isoformat(),
                WHAT_HAPPENS[edge.edge],
            )
        return due

    def _wait_on_file(self, problem: str) -> list[DueEdge]:
        if problem != self._waiting_on_file:  # once per problem, not every half second
            log.error("time edges wait: the feed file cannot take the change:\n%s", problem)
            self._waiting_on_file = problem
        return []


# Promises broken: operations are told loudly (and on their Telegram group, where it runs).
_ALERTS = frozenset({Edge.NEXT_UPDATE_OVERDUE, Edge.ETA_PASSED})
