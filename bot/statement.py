"""The statement: the facts every channel tells about one incident, in one locale.

Computed once per revision from the feed. Renderers only format a statement;
they never look at the feed, so no channel can know something another does not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from zoneinfo import ZoneInfo

from bot.feed.models import (
    Area,
    Edge,
    Feed,
    HumanContact,
    Incident,
    Kind,
    Maintenance,
    Service,
    Severity,
    Status,
    effective_status,
)
from bot.words import locales, words


@dataclass(frozen=True, slots=True)
class Contact:
    phone: str
    hours: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    revision: int
    incident_id: str
    locale: str
    kind: Kind
    status: Status
    severity: Severity
    organization: str
    title: str
    summary: str
    service_ids: tuple[str, ...]
    services: tuple[str, ...]
    area_ids: tuple[str, ...]
    areas: tuple[str, ...]
    started_at: dt.datetime
    eta: dt.datetime | None
    next_update_by: dt.datetime | None
    workaround: str | None
    apology: str
    contact: Contact
    staff_instructions: str | None
    latest_update: str | None
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None
    maintenance_starts_at: dt.datetime | None
    maintenance_ends_at: dt.datetime | None
    url: str
    timezone: ZoneInfo
    # The scheduler has told that the ETA / the next update's time passed (`Edge` entries).
    eta_passed: bool = False
    next_update_overdue: bool = False
    # How many reminders of a maintenance about to start the scheduler told (each one is
    # a change every channel tells).
    reminders: int = 0

    @property
    def is_open(self) -> bool:
        return self.status is not Status.RESOLVED

    def as_of(self, now: dt.datetime) -> Statement:
        """The statement as told at `now`: a maintenance's window decides its state between
        the scheduler's revisions (`effective_status`, the rule every channel shares)."""
        if self.maintenance_starts_at is None or self.maintenance_ends_at is None:
            return self
        window = Maintenance(starts_at=self.maintenance_starts_at, ends_at=self.maintenance_ends_at)
        status = effective_status(self.kind, self.status, window, now)
        if status is self.status:
            return self
        if status is Status.RESOLVED:
            return replace(
                self,
                status=status,
                resolved_at=self.resolved_at or window.ends_at,
                apology=words(self.locale)("facts.apology_resolved")
                if self.locale in locales()
                else self.apology,
            )
        return replace(self, status=status)

    def facts_fingerprint(self) -> str:
        """A short hash of the facts that must agree across channels (not of the wording)."""
        facts = {
            "incident": self.incident_id,
            "status": self.status.value,
            "eta": self.eta.isoformat() if self.eta else None,
            "next_update_by": self.next_update_by.isoformat() if self.next_update_by else None,
            "workaround": self.workaround,
            "areas": self.area_ids,
            "services": self.service_ids,
            "eta_passed": self.eta_passed,
            "next_update_overdue": self.next_update_overdue,
            "reminders": self.reminders,
        }
        blob = json.dumps(facts, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:16]


StatementKey = tuple[str, str]  # (incident id, locale)


def _text(texts: dict[str, str] | None, locale: str, default_locale: str) -> str | None:
    if texts is None:
        return None
    return texts.get(locale) or texts.get(default_locale)


def _contact(contact: HumanContact, locale: str, default_locale: str) -> Contact:
    return Contact(
        phone=contact.phone,
        hours=_text(contact.hours, locale, default_locale) or "",
        url=contact.url,
    )


def human_contact(feed: Feed, incidents: Sequence[Incident]) -> HumanContact:
    """Who answers for these incidents: their service's own desk when they share one,
    else the organization's — the one rule for every channel (the statement's contact, the
    phone's 0 at the menu and after an area, the bots' hand-off)."""
    contacts = {
        service.id: service.contact for service in feed.services if service.contact is not None
    }
    desks = {
        id(contacts[s]): contacts[s]
        for incident in incidents
        for s in incident.services
        if s in contacts
    }
    uncovered = any(all(s not in contacts for s in i.services) for i in incidents)
    if len(desks) == 1 and not uncovered:
        return next(iter(desks.values()))
    return feed.organization.human_contact


def _apology(feed: Feed, incident: Incident, locale: str, status: Status) -> str:
    """Sorry for the trouble "this is causing" while it lasts; once fixed, resolved words."""
    if status is Status.RESOLVED:
        return words(locale)("facts.apology_resolved") if locale in locales() else ""
    default = feed.organization.default_locale
    return (
        _text(incident.apology, locale, default)
        or _text(feed.organization.apology, locale, default)
        or ""
    )


def build_statement(
    feed: Feed,
    incident: Incident,
    locale: str,
    revision: int,
    *,
    services: dict[str, Service] | None = None,
    areas: dict[str, Area] | None = None,
) -> Statement:
    org = feed.organization
    default = org.default_locale
    services = services if services is not None else {s.id: s for s in feed.services}
    areas = areas if areas is not None else {a.id: a for a in feed.areas}
    # A fibre fault goes to the fibre desk, not the city switchboard (`human_contact`).
    contact = human_contact(feed, [incident])
    latest = incident.updates[-1] if incident.updates else None
    # What a person last wrote: the scheduler's entries (a promise fell due) are told by
    # the facts' own sentences ("the estimate has passed"), so repeating them would say it twice.
    said = next((u for u in reversed(incident.updates) if u.edge is None), None)
    window = incident.maintenance
    return Statement(
        revision=revision,
        incident_id=incident.id,
        locale=locale,
        kind=incident.kind,
        status=incident.status,
        severity=incident.severity,
        organization=_text(org.name, locale, default) or "",
        title=_text(incident.title, locale, default) or "",
        summary=_text(incident.summary, locale, default) or "",
        service_ids=tuple(incident.services),
        services=tuple(
            _text(services[s].name, locale, default) or s
            for s in incident.services
            if s in services
        ),
        area_ids=tuple(incident.areas),
        areas=tuple(
            _text(areas[a].name, locale, default) or a for a in incident.areas if a in areas
        ),
        started_at=incident.started_at,
        eta=incident.eta,
        next_update_by=incident.next_update_by,
        workaround=_text(incident.workaround, locale, default),
        apology=_apology(feed, incident, locale, incident.status),
        contact=_contact(contact, locale, default),
        staff_instructions=_text(incident.staff_instructions, locale, default),
        latest_update=_text(said.message, locale, default) if said else None,
        updated_at=latest.at if latest else incident.started_at,
        resolved_at=incident.resolved_at,
        resolution=_text(incident.resolution, locale, default),
        maintenance_starts_at=window.starts_at if window else None,
        maintenance_ends_at=window.ends_at if window else None,
        url=f"{org.status_page_url.rstrip('/')}#{incident.id}",
        timezone=org.tz,
        eta_passed=_told(incident, Edge.ETA_PASSED, incident.eta),
        next_update_overdue=_told(incident, Edge.NEXT_UPDATE_OVERDUE, incident.next_update_by),
        reminders=sum(1 for u in incident.updates if u.edge is Edge.MAINTENANCE_REMINDER),
    )


def _told(incident: Incident, edge: Edge, moment: dt.datetime | None) -> bool:
    """Whether the scheduler told that `moment` (the current ETA or next update) passed."""
    return moment is not None and any(
        u.edge is edge and u.about == moment for u in incident.updates
    )


_FIELDS = tuple(f.name for f in fields(Statement))


def renumbered(statement: Statement, revision: int) -> Statement:
    """`statement` as told in `revision` (`replace` copies field by field through
    `__init__`: four times slower, and a revision may renumber thousands)."""
    copy = object.__new__(Statement)
    set_field = object.__setattr__  # the dataclass is frozen
    for name in _FIELDS:
        set_field(copy, name, getattr(statement, name))
    set_field(copy, "revision", revision)
    return copy


def build_statements(feed: Feed, revision: int) -> dict[StatementKey, Statement]:
    """Every incident × every declared locale."""
    services = {s.id: s for s in feed.services}
    areas = {a.id: a for a in feed.areas}
    return {
        (incident.id, locale): build_statement(
            feed, incident, locale, revision, services=services, areas=areas
        )
        for incident in feed.incidents
        for locale in feed.organization.locales
    }
