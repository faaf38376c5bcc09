"""Answers "what affects postcode P / area A / service S now?" from prebuilt indexes.

Built once per revision; a query is a dictionary lookup plus a filter of the
few incidents found, so it stays well under a millisecond at 50,000 postcodes.
An incident declared on an area affects that area and every area below it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from bot.feed.models import Feed, Incident, Kind, Status
from bot.feed.yamlsource import collector_paused


def normalize_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def is_current(incident: Incident, now: dt.datetime) -> bool:
    """Open at `now` and not a maintenance still ahead (its state by `effective_status`)."""
    return incident.as_of(now).status not in (Status.RESOLVED, Status.SCHEDULED)


def _current(incidents: Iterable[Incident], now: dt.datetime) -> list[Incident]:
    """The current ones, each as told at `now` (a maintenance in its window is in progress)."""
    told = (incident.as_of(now) for incident in incidents)
    return [i for i in told if i.status not in (Status.RESOLVED, Status.SCHEDULED)]


class Lookup:
    def __init__(self, feed: Feed) -> None:
        with collector_paused():
            self._build(feed)

    def _build(self, feed: Feed) -> None:
        self.feed = feed
        parents = {area.id: area.parent for area in feed.areas}
        children: dict[str, list[str]] = defaultdict(list)
        for area_id, parent in parents.items():
            if parent is not None:
                children[parent].append(area_id)
        self._children = dict(children)

        open_incidents = [i for i in feed.incidents if i.status is not Status.RESOLVED]
        by_area: dict[str, list[Incident]] = defaultdict(list)
        by_service: dict[str, list[Incident]] = defaultdict(list)
        for incident in open_incidents:
            for area_id in self._with_descendants(incident.areas, self._children):
                by_area[area_id].append(incident)
            for service_id in incident.services:
                by_service[service_id].append(incident)

        areas_of_postcode: dict[str, list[str]] = defaultdict(list)
        self._postcodes_of: dict[str, list[str]] = defaultdict(list)
        for area in feed.areas:
            for postcode in area.postcodes:
                key = normalize_postcode(postcode)
                areas_of_postcode[key].append(area.id)
                self._postcodes_of[area.id].append(key)
        self.areas_of_postcode = dict(areas_of_postcode)
        self._by_area = {k: tuple(v) for k, v in by_area.items()}
        self._by_service = {k: tuple(v) for k, v in by_service.items()}
        self._by_postcode: dict[str, tuple[Incident, ...]] = {}
        self._index_postcodes(self.areas_of_postcode)
        self._open = tuple(open_incidents)
        self._incidents = {incident.id: incident for incident in feed.incidents}
        self.area_ids = frozenset(parents)
        # How many keys the longest postcode takes on a phone (0 when the feed lists none).
        self.postcode_length = max(map(len, self.areas_of_postcode), default=0)
        self.service_ids = frozenset(s.id for s in feed.services)

    def _index_postcodes(self, postcodes: Iterable[str]) -> None:
        """`_by_postcode` of `postcodes` from `_by_area`. Keyed by incident id: a postcode
        listed in two areas must not count an incident twice."""
        for key in postcodes:
            found: dict[str, Incident] = {}
            for area_id in self.areas_of_postcode.get(key, ()):
                for incident in self._by_area.get(area_id, ()):
                    found.setdefault(incident.id, incident)
            if found:
                self._by_postcode[key] = tuple(found.values())
            else:
                self._by_postcode.pop(key, None)

    def updated(self, feed: Feed) -> Lookup:
        """The lookup of `feed`, a later revision of this one's: when only some incidents
        changed (new objects; a revision keeps those it did not change), the entries of
        the places and services they touch are made again and the rest kept — the same
        lookup as `Lookup(feed)`, at the cost of the change."""
        incidents = {incident.id: incident for incident in feed.incidents}
        changed = [i for i, incident in incidents.items() if self._incidents.get(i) is not incident]
        changed += [i for i in self._incidents.keys() - incidents.keys()]
        if (
            len(incidents) != len(feed.incidents)  # ids twice: only a whole build is sure
            or len(changed) > max(len(incidents) // 8, 100)
            or feed.areas != self.feed.areas
            or feed.services != self.feed.services
        ):
            return Lookup(feed)
        lookup = copy.copy(self)
        lookup.feed = feed
        lookup._incidents = incidents
        if changed:
            with collector_paused():
                lookup._update(changed, self._incidents)
        return lookup

    def _update(self, changed: list[str], before: dict[str, Incident]) -> None:
        self._by_area = dict(self._by_area)
        self._by_service = dict(self._by_service)
        self._by_postcode = dict(self._by_postcode)
        self._open = tuple(i for i in self.feed.incidents if i.status is not Status.RESOLVED)
        gone = set(changed)
        areas: dict[str, list[Incident]] = defaultdict(list)  # where each one now is
        services: dict[str, list[Incident]] = defaultdict(list)
        for incident_id in changed:
            old = before.get(incident_id)
            if old is not None and old.status is not Status.RESOLVED:  # no longer there
                for area_id in self._with_descendants(old.areas, self._children):
                    areas.setdefault(area_id, [])
                for service_id in old.services:
                    services.setdefault(service_id, [])
            new = self._incidents.get(incident_id)
            if new is not None and new.status is not Status.RESOLVED:
                for area_id in self._with_descendants(new.areas, self._children):
                    areas[area_id].append(new)
                for service_id in new.services:
                    services[service_id].append(new)
        order = {incident_id: n for n, incident_id in enumerate(self._incidents)}
        for index, entries in ((self._by_area, areas), (self._by_service, services)):
            for key, added in entries.items():
                kept = [i for i in index.get(key, ()) if i.id not in gone]
                merged = sorted(kept + added, key=lambda i: order[i.id])
                if merged:
                    index[key] = tuple(merged)
                else:
                    index.pop(key, None)
        self._index_postcodes({p for area_id in areas for p in self._postcodes_of.get(area_id, ())})

    @staticmethod
    def _with_descendants(roots: Iterable[str], children: dict[str, list[str]]) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            area_id = stack.pop()
            if area_id in seen:
                continue
            seen.add(area_id)
            out.append(area_id)
            stack.extend(children.get(area_id, ()))
        return out

    def knows_postcode(self, postcode: str) -> bool:
        return normalize_postcode(postcode) in self.areas_of_postcode

    def for_postcode(self, postcode: str, now: dt.datetime) -> list[Incident]:
        return _current(self._by_postcode.get(normalize_postcode(postcode), ()), now)

    def for_area(self, area_id: str, now: dt.datetime) -> list[Incident]:
        return _current(self._by_area.get(area_id, ()), now)

    def open_in_area(self, area_id: str) -> tuple[Incident, ...]:
        """Every unresolved incident of the area, maintenance not yet started included."""
        return self._by_area.get(area_id, ())

    def for_service(self, service_id: str, now: dt.datetime) -> list[Incident]:
        return _current(self._by_service.get(service_id, ()), now)

    def current(self, now: dt.datetime) -> list[Incident]:
        return _current(self._open, now)

    def upcoming_maintenance(self, now: dt.datetime) -> list[Incident]:
        return [
            i
            for i in self._open
            if i.kind is Kind.MAINTENANCE and i.as_of(now).status is Status.SCHEDULED
        ]

    def open_at(self, now: dt.datetime) -> list[Incident]:
        """Every incident still open at `now`, upcoming maintenance included, as told then."""
        return [i for i in (i.as_of(now) for i in self._open) if i.is_open]

    def told(self, now: dt.datetime) -> list[Incident]:
        """Every incident of the feed as told at `now` (history included)."""
        return [i.as_of(now) for i in self.feed.incidents]
