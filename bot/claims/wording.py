"""What the feed says instead, and the words to say, in the reply's language (es or en)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.feed.models import Incident, Kind, Status
from bot.render.when import say_when
from bot.statement import Statement
from bot.words import status_label

_WORDS: dict[str, dict[str, str]] = {
    "es": {
        "eta": "Hora estimada de solución: {when}",
        "no_eta": "Todavía no hay hora estimada de solución",
        "no_eta_say": "aún no tenemos hora estimada",
        "next": "próxima actualización {when}",
        "next_say": "le daremos novedades {when}",
        "resolved": "Resuelto {when}",
        "resolved_say": "ya está solucionado",
        "open": "Estado: {status}; todavía no está resuelto",
        "open_say": "todavía no está solucionado",
        "open_eta_say": "todavía no está solucionado; calculamos que {when}",
        "window": "Mantenimiento programado de {start} a {end}",
        "unplanned": "Es una incidencia imprevista, no un mantenimiento programado",
        "unplanned_say": "incidencia",
        "planned_say": "mantenimiento programado",
        "next_by": "Próxima actualización, como tarde: {when}",
        "affects": "Afecta a: {areas}",
        "yes_affected": "{place} sí está afectado ({title})",
        "yes_affected_say": "sí afecta a {place}",
        "not_affected": "{place} no está en la zona afectada ({areas})",
        "no_incident_here": "Ninguna incidencia abierta afecta a {place}",
        "service": "Servicio afectado: {services}",
        "contact": "Contacto: {phone} ({hours})",
        "link": "Enlaces: {urls}",
        "hours": "Horario: {hours}",
        "your_area": "su zona",
    },
    "en": {
        "eta": "Estimated fix: {when}",
        "no_eta": "There is no estimated fix time yet",
        "no_eta_say": "we do not have an estimated fix time yet",
        "next": "next update {when}",
        "next_say": "we will update you {when}",
        "resolved": "Resolved {when}",
        "resolved_say": "it is fixed",
        "open": "Status: {status}; not resolved yet",
        "open_say": "it is not fixed yet",
        "open_eta_say": "it is not fixed yet; we expect it {when}",
        "window": "Scheduled maintenance from {start} to {end}",
        "unplanned": "This is an unplanned incident, not scheduled maintenance",
        "unplanned_say": "incident",
        "planned_say": "scheduled maintenance",
        "next_by": "Next update at the latest: {when}",
        "affects": "Affects: {areas}",
        "yes_affected": "{place} is affected ({title})",
        "yes_affected_say": "{place} is affected",
        "not_affected": "{place} is not in the affected area ({areas})",
        "no_incident_here": "No open incident affects {place}",
        "service": "Affected service: {services}",
        "contact": "Contact: {phone} ({hours})",
        "link": "Links: {urls}",
        "hours": "Opening hours: {hours}",
        "your_area": "your area",
    },
}


class Wording:
    """Sentences about one incident's facts, in one locale, at one moment."""

    def __init__(self, locale: str, now: dt.datetime, tz: ZoneInfo) -> None:
        self.locale = locale if locale in _WORDS else "en"
        self.words = _WORDS[self.locale]
        self.now = now
        self.tz = tz

    def say(self, key: str, **values: str) -> str:
        return self.words[key].format(**values)

    def when(self, moment: dt.datetime) -> str:
        return say_when(moment, self.now, self.locale, self.tz)

    def eta(self, incident: Incident) -> tuple[str, str]:
        """(feed says, suggestion) about when it will be fixed."""
        if incident.status is Status.RESOLVED and incident.resolved_at is not None:
            return self.say("resolved", when=self.when(incident.resolved_at)), self.say(
                "resolved_say"
            )
        window = incident.maintenance
        if incident.kind is Kind.MAINTENANCE and window is not None and incident.eta is None:
            start, end = self.when(window.starts_at), self.when(window.ends_at)
            return self.say("window", start=start, end=end), end
        if incident.eta is not None:
            when = self.when(incident.eta)
            return self.say("eta", when=when), when
        says, say = self.say("no_eta"), self.say("no_eta_say")
        if incident.next_update_by is not None:
            when = self.when(incident.next_update_by)
            says += "; " + self.say("next", when=when)
            say += "; " + self.say("next_say", when=when)
        return says, say

    def state(self, incident: Incident) -> tuple[str, str]:
        if incident.status is Status.RESOLVED:
            return self.eta(incident)
        says = self.say("open", status=status_label(incident.status, self.locale))
        if incident.eta is not None:
            return says, self.say("open_eta_say", when=self.when(incident.eta))
        return says, self.say("open_say")

    def kind(self, incident: Incident) -> tuple[str, str]:
        window = incident.maintenance
        if incident.kind is Kind.MAINTENANCE and window is not None:
            start, end = self.when(window.starts_at), self.when(window.ends_at)
            return self.say("window", start=start, end=end), self.say("planned_say")
        return self.say("unplanned"), self.say("unplanned_say")

    def next_update(self, moment: dt.datetime) -> tuple[str, str]:
        when = self.when(moment)
        return self.say("next_by", when=when), when

    def areas(self, statement: Statement) -> tuple[str, str]:
        areas = ", ".join(statement.areas)
        return self.say("affects", areas=areas), areas

    def services(self, statement: Statement) -> tuple[str, str]:
        services = ", ".join(statement.services)
        return self.say("service", services=services), services
