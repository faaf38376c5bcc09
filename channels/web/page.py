"""The public status page: server-rendered HTML, usable without JavaScript, escaped everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel import Locale, UnknownLocaleError
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.feed.lookup import normalize_postcode
from bot.feed.models import Incident, Kind, Status
from bot.render.engine import phrase_facts
from bot.render.when import say_when
from bot.state import FeedState
from bot.words import words
from channels.web.views import selected, statuspage_summary

HISTORY_DAYS = 14

TEMPLATES = Environment(
    loader=PackageLoader("channels.web", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def _card(state: FeedState, incident: Incident, locale: str, now: dt.datetime) -> dict[str, Any]:
    statement = state.statement(incident.id, locale).as_of(now)
    phrases = phrase_facts(statement, now)
    default = state.feed.organization.default_locale
    tz = statement.timezone
    return {
        "id": incident.id,
        "kind": incident.kind.value,
        "status": incident.status.value,
        "severity": incident.severity.value,
        "s": statement,
        "f": phrases,
        "timeline": [
            {
                "when": say_when(update.at, now, locale, tz),
                "at": update.at.isoformat(),
                "status": update.status.value,
                "message": update.message.get(locale) or update.message[default],
            }
            for update in reversed(incident.updates)
        ],
    }


def _language_name(code: str) -> str:
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code.upper()
    return name[:1].upper() + name[1:]


def render_status_page(
    state: FeedState, now: dt.datetime, locale: str, *, postcode: str | None = None
) -> str:
    current, upcoming = selected(state, now, None, None)
    cutoff = now - dt.timedelta(days=HISTORY_DAYS)
    history = [
        i
        for i in state.lookup.told(now)
        if i.status is Status.RESOLVED and i.resolved_at is not None and i.resolved_at >= cutoff
    ]
    history.sort(key=lambda i: i.resolved_at or i.started_at, reverse=True)
    search: dict[str, Any] | None = None
    if postcode:
        code = normalize_postcode(postcode)[:12]
        search = {
            "postcode": code,
            "known": state.lookup.knows_postcode(code),
            "incidents": [
                _card(state, i, locale, now) for i in state.lookup.for_postcode(code, now)
            ],
        }
    org = state.feed.organization
    summary = statuspage_summary(state, now, locale)
    context = {
        "lang": locale,
        "locales": org.locales,
        # Each language by its own name ("Español", "English"): never run together as "ESEN".
        "language_names": {code: _language_name(code) for code in org.locales},
        "w": words(locale).section("web"),
        "organization": org.name.get(locale) or org.name[org.default_locale],
        "contact": org.human_contact,
        "hours": org.human_contact.hours.get(locale) or org.human_contact.hours[org.default_locale],
        "current": [_card(state, i, locale, now) for i in current if i.kind is Kind.INCIDENT]
        + [_card(state, i, locale, now) for i in current if i.kind is Kind.MAINTENANCE],
        "upcoming": [_card(state, i, locale, now) for i in upcoming],
        "history": [_card(state, i, locale, now) for i in history],
        "components": summary["components"],
        "indicator": summary["status"]["indicator"],
        "search": search,
        "revision": state.revision.number,
    }
    return TEMPLATES.get_template("status.html.j2").render(context)
