"""Answers "what affects postcode P / area A / service S now?" from prebuilt indexes.

Built once per revision; a query is a dictionary lookup plus a filter of the
few incidents found, so it stays well under a millisecond at 50,000 postcodes.
An incident declared on an area affects that area and every area below it.
"""

from __future__ import annotations

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

        open_incidents = [i for i in feed.incidents if i.status is not Status.RESOLVED]
        by_area: dict[str, list[Incident]] = defaultdict(list)
        by_service: dict[str, list[Incident]] = defaultdict(list)
        for incident in open_incidents:
            for area_id in self._with_descendants(incident.areas, children):
                by_area[area_id].append(incident)
            for service_id in incident.services:
                by_service[service_id].append(incident)

        # Keyed by incident id: a postcode listed in two areas must not count an incident twice.
        by_postcode: dict[str, dict[str, Incident]] = defaultdict(dict)
        self.areas_of_postcode: dict[str, list[str]] = defaultdict(list)
        for area in feed.areas:
            for postcode in area.postcodes:
                key = normalize_postcode(postcode)
                self.areas_of_postcode[key].append(area.id)
                for incident in by_area.get(area.id, ()):
                    by_postcode[key].setdefault(incident.id, incident)

        self._by_area = {k: tuple(v) for k, v in by_area.items()}
        self._by_service = {k: tuple(v) for k, v in by_service.items()}
        self._by_postcode = {k: tuple(v.values()) for k, v in by_postcode.items()}
        self._open = tuple(open_incidents)
        self.area_ids = frozenset(parents)
        # How many keys the longest postcode takes on a phone (0 when the feed lists none).
        self.postcode_length = max(map(len, self.areas_of_postcode), default=0)
        self.service_ids = frozenset(s.id for s in feed.services)

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
