"""Time edges: the moments a promise in the feed falls due, and telling them as revisions.

An edge is "the next update promised for 14:30 is overdue", "the ETA of 18:00 has
passed unresolved", "the maintenance window starts / ends". At its instant the
scheduler writes it into the feed as a timeline entry authored by `scheduler`
(`edge:` its kind, `about:` the time promised)
(and, for maintenance, the new status), so it is a revision like any other: every
channel re-tells the incident in that one revision, and the file stays the truth.

Exactly once, whatever restarts: an edge is told when the timeline holds an entry
with its kind about its instant, so the feed itself says which edges are done; one
that fell due while everything was down is told at start; an operator's change
made before the edge (a new ETA, a status already moved) wins and the edge lapses.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.feed.models import Edge, Feed, Incident, Kind, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True, slots=True)
class DueEdge:
    at: dt.datetime
    incident_id: str
    edge: Edge

    def as_json(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "incident": self.incident_id, "edge": self.edge.value}


WHAT_HAPPENS = {
    Edge.NEXT_UPDATE_OVERDUE: "every channel says the update is late; operations are alerted",
    Edge.ETA_PASSED: "every channel says the expected fix time passed; a new ETA is asked for",
    Edge.MAINTENANCE_REMINDER: "every channel reminds of the maintenance about to start",
    Edge.MAINTENANCE_STARTED: "the maintenance moves to in progress on every channel",
    Edge.MAINTENANCE_ENDED: "the maintenance is completed (resolved) on every channel",
}


def _told(incident: Incident, edge: Edge, at: dt.datetime) -> bool:
    return any(u.edge is edge and u.about == at for u in incident.updates)


def edges_of(incident: Incident, reminders: Sequence[dt.timedelta] = ()) -> list[DueEdge]:
    """The edges of one incident still to tell (whatever their time); `reminders`: how long
    before a maintenance window every channel reminds of it."""
    if incident.status is Status.RESOLVED:
        return []
    found: list[DueEdge] = []

    def add(at: dt.datetime | None, edge: Edge) -> None:
        if at is not None and not _told(incident, edge, at):
            found.append(DueEdge(at, incident.id, edge))

    if incident.kind is Kind.MAINTENANCE and incident.maintenance is not None:
        if incident.status is Status.SCHEDULED:
            starts = incident.maintenance.starts_at
            for lead in reminders:
                # Only a reminder the announcement came before: one announced an hour
                # ahead is not reminded of a day ahead.
                if starts - lead > incident.started_at:
                    add(starts - lead, Edge.MAINTENANCE_REMINDER)
            add(starts, Edge.MAINTENANCE_STARTED)
        add(incident.maintenance.ends_at, Edge.MAINTENANCE_ENDED)
    else:
        add(incident.eta, Edge.ETA_PASSED)
    add(incident.next_update_by, Edge.NEXT_UPDATE_OVERDUE)
    return found


def _order(edge: DueEdge) -> tuple[dt.datetime, str, str]:
    """DueEdge's own order, as a key: sorting thousands compares in C, not in `__lt__`."""
    return (edge.at, edge.incident_id, edge.edge)


def pending_edges(feed: Feed) -> list[DueEdge]:
    """Every edge of the feed not told yet, soonest first."""
    reminders = feed.organization.maintenance_reminders
    return sorted((edge for i in feed.incidents for edge in edges_of(i, reminders)), key=_order)


class EdgePlan:
    """The pending edges of the current revision, soonest first (`edges`), kept from one
    revision to the next: the incidents a revision changed (new objects: a revision keeps
    those it did not change, `bot.feed.loader.revalidate`) are planned again, the others'
    edges stay where they are. The same list as `pending_edges` of each revision."""

    def __init__(self) -> None:
        self.edges: list[DueEdge] = []
        self._incidents: dict[str, Incident] = {}
        self._edges_of: dict[str, list[DueEdge]] = {}
        self._reminders: list[dt.timedelta] | None = None
        self._feed: Feed | None = None  # the feed planned

    def update(self, feed: Feed) -> list[DueEdge]:
        if feed is self._feed:
            return self.edges
        self._feed = feed
        reminders = feed.organization.maintenance_reminders
        incidents = {incident.id: incident for incident in feed.incidents}
        if reminders != self._reminders or len(incidents) != len(feed.incidents):
            return self.rebuild(feed)  # new reminders (or ids twice): every incident changes
        changed = [i for i in feed.incidents if self._incidents.get(i.id) is not i]
        gone = self._incidents.keys() - incidents.keys()
        if len(changed) + len(gone) > max(len(incidents) // 8, 100):
            return self.rebuild(feed)  # sorting all at once is quicker than one by one
        for incident_id in gone | {i.id for i in changed}:
            for edge in self._edges_of.pop(incident_id, ()):
                at = bisect.bisect_left(self.edges, _order(edge), key=_order)
                if at == len(self.edges) or self.edges[at] != edge:
                    return self.rebuild(feed)  # the list and its index disagree: plan anew
                del self.edges[at]
        for incident in changed:
            found = self._edges_of[incident.id] = edges_of(incident, reminders)
            for edge in found:
                bisect.insort(self.edges, edge, key=_order)
        self._incidents = incidents
        return self.edges

    def rebuild(self, feed: Feed) -> list[DueEdge]:
        """Plan every incident of `feed` anew."""
        reminders = feed.organization.maintenance_reminders
        self._feed = feed
        self._reminders = reminders
        self._incidents = {}
        self._edges_of = {}
        for incident in feed.incidents:
            self._incidents[incident.id] = incident
            self._edges_of.setdefault(incident.id, []).extend(edges_of(incident, reminders))
        self.edges = sorted(
            (edge for found in self._edges_of.values() for edge in found), key=_order
        )
        return self.edges


def due_now(edges: Sequence[DueEdge], now: dt.datetime) -> list[DueEdge]:
    """The leading edges whose instant has come (`edges` sorted soonest first)."""
    out: list[DueEdge] = []
    for edge in edges:
        if edge.at > now:
            break
        out.append(edge)
    return out


def overdue_promises(feed: Feed, now: dt.datetime) -> Iterable[DueEdge]:
    """Promises that are past (told or not): for `unavoz audit` and the console."""
    for incident in feed.incidents:
        if incident.status is Status.RESOLVED:
            continue
        if incident.next_update_by is not None and incident.next_update_by <= now:
            yield DueEdge(incident.next_update_by, incident.id, Edge.NEXT_UPDATE_OVERDUE)
        if incident.kind is Kind.INCIDENT and incident.eta is not None and incident.eta <= now:
            yield DueEdge(incident.eta, incident.id, Edge.ETA_PASSED)
