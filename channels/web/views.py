"""What the web tells, as data: the banner, Statuspage-shaped JSON, the Atom feed.

Pure functions of a revision (`FeedState`), a moment and a language, so the live
server and `unavoz export-static` produce the same bytes. Words come from the
renderers (the web channel's banner text) and the statement's phrases.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from babel.core import negotiate_locale

from bot.feed.models import Feed, Incident, Kind, Severity, Status
from bot.render.engine import fact_sentences, phrase_facts
from bot.state import FeedState
from bot.statement import Statement
from bot.words import status_label, words

ATOM = "http://www.w3.org/2005/Atom"


def pick_locale(feed: Feed, asked: str | None, accept_language: str | None) -> str:
    """`?lang=` if the feed has it, else the best of Accept-Language, else the default."""
    locales = feed.organization.locales
    if asked in locales:
        return str(asked)
    preferred = []
    for part in (accept_language or "").split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        if tag and weight > 0:
            preferred.append((weight, tag.strip().replace("-", "_")))
    ordered = [tag for _, tag in sorted(preferred, key=lambda item: -item[0])]
    return negotiate_locale(ordered, locales, sep="_") or feed.organization.default_locale


def selected(
    state: FeedState, now: dt.datetime, area: str | None, service: str | None
) -> tuple[list[Incident], list[Incident]]:
    """(current incidents, upcoming maintenance) for an area and/or a service, or all."""
    lookup = state.lookup
    current = lookup.current(now)
    upcoming = lookup.upcoming_maintenance(now)
    if area:
        in_area = {i.id for i in lookup.open_in_area(area)}
        current = [i for i in current if i.id in in_area]
        upcoming = [i for i in upcoming if i.id in in_area]
    if service:
        current = [i for i in current if service in i.services]
        upcoming = [i for i in upcoming if service in i.services]
    return current, upcoming


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _banner_entry(
    state: FeedState, incident: Incident, locale: str, now: dt.datetime
) -> dict[str, Any]:
    statement = state.statement(incident.id, locale).as_of(now)
    phrases = phrase_facts(statement, now)
    sentences = fact_sentences(statement, now)
    return {
        "id": incident.id,
        "kind": incident.kind.value,
        "status": incident.status.value,
        "status_text": phrases.status,
        "severity": incident.severity.value,
        "title": statement.title,
        "text": state.render("web", incident, locale, now),
        "areas": list(statement.areas),
        "services": list(statement.services),
        "area_ids": list(statement.area_ids),
        "service_ids": list(statement.service_ids),
        "eta": _iso(statement.eta),
        "eta_text": phrases.eta or phrases.no_eta,
        "eta_passed": phrases.eta_passed,
        "next_update_by": _iso(statement.next_update_by),
        "next_update_text": phrases.next_update,
        "next_update_overdue": phrases.next_update_overdue,
        # The same labelled sentences every channel says: show these, not the bare times.
        "when_fixed_sentence": sentences.when_fixed,
        "next_update_sentence": sentences.next_update,
        "workaround": statement.workaround,
        "workaround_sentence": (
            f"{words(locale)('web.workaround')}: {statement.workaround}"
            if statement.workaround
            else None
        ),
        "starts_at": _iso(statement.maintenance_starts_at),
        "ends_at": _iso(statement.maintenance_ends_at),
        "url": statement.url,
        # Changes whenever the facts change: a visitor who dismissed one version sees the next.
        "dismiss_key": f"{incident.id}:{statement.facts_fingerprint()}",
    }


def banner(
    state: FeedState,
    now: dt.datetime,
    locale: str,
    *,
    area: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    current, upcoming = selected(state, now, area, service)
    org = state.feed.organization
    return {
        "revision": state.revision.number,
        "lang": locale,
        "status_page": org.status_page_url,
        "contact": {
            "phone": org.human_contact.phone,
            "hours": org.human_contact.hours.get(locale)
            or org.human_contact.hours[org.default_locale],
        },
        "incidents": [_banner_entry(state, i, locale, now) for i in current],
        "maintenance": [_banner_entry(state, i, locale, now) for i in upcoming],
    }


def etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# Statuspage's public API v2 (https://<page>.statuspage.io/api/v2/…) --------------------------

_IMPACT = {Severity.MINOR: "minor", Severity.MAJOR: "major", Severity.CRITICAL: "critical"}
_COMPONENT_STATUS = {
    Severity.MINOR: "degraded_performance",
    Severity.MAJOR: "partial_outage",
    Severity.CRITICAL: "major_outage",
}
_INDICATOR_TEXT = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
_MAINTENANCE_STATUS = {
    Status.SCHEDULED: "scheduled",
    Status.IN_PROGRESS: "in_progress",
    Status.MONITORING: "verifying",
    Status.RESOLVED: "completed",
}
_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}


def _page(state: FeedState, locale: str) -> dict[str, Any]:
    org = state.feed.organization
    host = urlsplit(org.status_page_url).hostname or "unavoz"
    return {
        "id": host,
        "name": org.name.get(locale) or org.name[org.default_locale],
        "url": org.status_page_url,
        "time_zone": org.timezone,
        "updated_at": state.revision.created_at.isoformat(),
    }


def _components(state: FeedState, now: dt.datetime, locale: str) -> list[dict[str, Any]]:
    org = state.feed.organization
    created = state.revision.created_at.isoformat()
    out = []
    for position, service in enumerate(state.feed.services, start=1):
        affecting = state.lookup.for_service(service.id, now)
        status = "operational"
        if any(i.kind is Kind.MAINTENANCE for i in affecting):
            status = "under_maintenance"
        incidents = [i for i in affecting if i.kind is Kind.INCIDENT]
        if incidents:
            worst = max(incidents, key=lambda i: _RANK[_IMPACT[i.severity]])
            status = _COMPONENT_STATUS[worst.severity]
        out.append(
            {
                "id": service.id,
                "name": service.name.get(locale) or service.name[org.default_locale],
                "status": status,
                "created_at": created,
                "updated_at": created,
                "position": position,
                "description": None,
                "showcase": True,
                "start_date": None,
                "group_id": None,
                "page_id": _page(state, locale)["id"],
                "group": False,
                "only_show_if_degraded": False,
            }
        )
    return out


def _updates(state: FeedState, incident: Incident, locale: str) -> list[dict[str, Any]]:
    default = state.feed.organization.default_locale
    updates = []
    for number, update in reversed(list(enumerate(incident.updates))):  # newest first
        updates.append(
            {
                "id": f"{incident.id}-{number}",
                "status": update.status.value,
                "body": update.message.get(locale) or update.message[default],
                "incident_id": incident.id,
                "created_at": update.at.isoformat(),
                "updated_at": update.at.isoformat(),
                "display_at": update.at.isoformat(),
                "affected_components": None,
                "deliver_notifications": True,
            }
        )
    return updates


def _incident(
    state: FeedState, incident: Incident, now: dt.datetime, locale: str
) -> dict[str, Any]:
    statement: Statement = state.statement(incident.id, locale).as_of(now)
    updated = incident.updates[-1].at if incident.updates else incident.started_at
    monitoring = next((u.at for u in incident.updates if u.status is Status.MONITORING), None)
    components = [c for c in _components(state, now, locale) if c["id"] in incident.services]
    body: dict[str, Any] = {
        "id": incident.id,
        "name": statement.title,
        "status": incident.status.value,
        "created_at": incident.started_at.isoformat(),
        "updated_at": updated.isoformat(),
        "monitoring_at": _iso(monitoring),
        "resolved_at": _iso(incident.resolved_at),
        "impact": _IMPACT[incident.severity],
        "shortlink": statement.url,
        "started_at": incident.started_at.isoformat(),
        "page_id": _page(state, locale)["id"],
        "incident_updates": _updates(state, incident, locale),
        "components": components,
    }
    if incident.kind is Kind.MAINTENANCE and incident.maintenance is not None:
        body["status"] = _MAINTENANCE_STATUS[incident.status]
        body["impact"] = "maintenance"
        body["scheduled_for"] = incident.maintenance.starts_at.isoformat()
        body["scheduled_until"] = incident.maintenance.ends_at.isoformat()
    return body


def _indicator(incidents: list[Incident]) -> dict[str, str]:
    worst = "none"
    for incident in incidents:
        impact = _IMPACT[incident.severity]
        if _RANK[impact] > _RANK[worst]:
            worst = impact
    return {"indicator": worst, "description": _INDICATOR_TEXT[worst]}


def statuspage_status(state: FeedState, now: dt.datetime, locale: str) -> dict[str, Any]:
    incidents = [i for i in state.lookup.current(now) if i.kind is Kind.INCIDENT]
    return {"page": _page(state, locale), "status": _indicator(incidents)}


def statuspage_unresolved(state: FeedState, now: dt.datetime, locale: str) -> dict[str, Any]:
    incidents = [i for i in state.lookup.open_at(now) if i.kind is Kind.INCIDENT]
    return {
        "page": _page(state, locale),
        "incidents": [_incident(state, i, now, locale) for i in incidents],
    }


def statuspage_summary(state: FeedState, now: dt.datetime, locale: str) -> dict[str, Any]:
    # Open as told at `now`: a maintenance whose window ended is completed here as everywhere.
    open_now = state.lookup.open_at(now)
    unresolved = [i for i in open_now if i.kind is Kind.INCIDENT]
    maintenance = [i for i in open_now if i.kind is Kind.MAINTENANCE]
    return {
        "page": _page(state, locale),
        "components": _components(state, now, locale),
        "incidents": [_incident(state, i, now, locale) for i in unresolved],
        "scheduled_maintenances": [_incident(state, i, now, locale) for i in maintenance],
        "status": _indicator([i for i in state.lookup.current(now) if i.kind is Kind.INCIDENT]),
    }


# Atom (RFC 4287) -----------------------------------------------------------------------------


def atom(state: FeedState, locale: str, self_url: str, now: dt.datetime) -> bytes:
    """Every incident update as an entry, newest first, and one entry per incident for what
    it is told now: its id carries the told facts' fingerprint, so a change that no timeline
    entry tells (a hand edit that resolves, a new ETA, a maintenance window's edge) is a new
    entry feed readers see. ElementTree escapes all text."""
    ET.register_namespace("", ATOM)
    org = state.feed.organization
    default = org.default_locale
    host = urlsplit(org.status_page_url).hostname or "unavoz.invalid"
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": locale})
    entries: list[tuple[dt.datetime, str, str, str, str]] = []  # at, id, title, url, text
    for incident in state.lookup.told(now):
        statement = state.statement(incident.id, locale).as_of(now)
        for number, update in enumerate(incident.updates):
            title = f"{statement.title} — {phrase_status(statement, update.status)}"
            text = update.message.get(locale) or update.message[default]
            entries.append((update.at, f"{incident.id}/{number}", title, statement.url, text))
        if _told_by_timeline(incident):
            continue
        title = f"{statement.title} — {phrase_status(statement, incident.status)}"
        text = state.render("web", incident.id, locale, now)
        entry_id = f"{incident.id}/state/{statement.facts_fingerprint()}"
        entries.append((_state_time(incident), entry_id, title, statement.url, text))
    entries.sort(key=lambda e: e[0], reverse=True)
    updated = entries[0][0] if entries else state.revision.created_at
    _text(root, "title", org.name.get(locale) or org.name[default])
    _text(root, "id", f"tag:{host},2026:status")
    _text(root, "updated", updated.isoformat())
    ET.SubElement(root, f"{{{ATOM}}}link", {"rel": "self", "href": self_url})
    ET.SubElement(root, f"{{{ATOM}}}link", {"rel": "alternate", "href": org.status_page_url})
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", org.name.get(locale) or org.name[default])
    for at, entry_id, title, url, text in entries:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        _text(entry, "title", title)
        _text(entry, "id", f"tag:{host},2026:incident/{entry_id}")
        _text(entry, "updated", at.isoformat())
        _text(entry, "published", at.isoformat())
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": url})
        _text(entry, "content", text, type="text")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _told_by_timeline(incident: Incident) -> bool:
    """A resolved incident whose newest timeline entry tells its resolution needs no state
    entry; an open one always has one (its ETA or next update may change without a message)."""
    if incident.is_open or not incident.updates:
        return False
    latest = incident.updates[-1]
    resolved_at = incident.resolved_at
    return latest.status is Status.RESOLVED and (resolved_at is None or resolved_at <= latest.at)


def _state_time(incident: Incident) -> dt.datetime:
    """When the incident came to stand as told: its last entry, its resolution, or the start
    of its maintenance window — whichever is latest. Stable across unrelated revisions."""
    moments = [incident.started_at, *(u.at for u in incident.updates[-1:])]
    if incident.resolved_at is not None:
        moments.append(incident.resolved_at)
    if incident.maintenance is not None and incident.status is Status.IN_PROGRESS:
        moments.append(incident.maintenance.starts_at)
    return max(moments)


def phrase_status(statement: Statement, status: Status) -> str:

    return status_label(status, statement.locale)


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = text
    return element
