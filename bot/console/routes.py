"""`/console`: the operators' console — what every channel says, their consistency, and forms.

Behind the admin token: a login form exchanges it for an HttpOnly, SameSite=Strict
session cookie derived from it (changing the token logs everyone out), and every
form carries a CSRF field derived from it too. The forms call the same
`FeedService.apply` as the CLI and the admin API. Server-rendered; the one script is
the reply box's (bot/http/lint_box.js), which calls the claims lint as the user types.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError

from bot.delivery import consistency
from bot.delivery.overview import overview
from bot.edges import WHAT_HAPPENS, overdue_promises, pending_edges
from bot.feed.changes import (
    Change,
    ChangeError,
    OpenIncident,
    ResolveIncident,
    TimeInputError,
    UpdateIncident,
    parse_when,
)
from bot.feed.models import Edge, Kind, Severity, Status
from bot.feed.yamlsource import FeedError
from bot.http.keys import CHANNELS, DETAILS, SERVICE, SETTINGS
from bot.registry import default_registry

if TYPE_CHECKING:
    from bot.state import FeedState

COOKIE = "unavoz_console"
TEMPLATES = Environment(
    loader=PackageLoader("bot.console", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
LINT_COOKIE = "unavoz_console_lint"
LINT_PATH = "/api/v1/lint"  # bot.http.lint.PATH (not imported: that module imports this one)


def _derive(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _token(request: web.Request) -> str:
    token = request.app[SETTINGS].admin_token
    if not token:
        raise web.HTTPForbidden(text="the console is off: set UNAVOZ_ADMIN_TOKEN to turn it on")
    return token


def _signed_in(request: web.Request, token: str) -> bool:
    cookie = request.cookies.get(COOKIE, "")
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    return hmac.compare_digest(cookie, _derive(token, "session")) or (
        scheme.lower() == "bearer" and hmac.compare_digest(bearer.encode(), token.encode())
    )


def _page(name: str, status: int = 200, **context: Any) -> web.Response:
    return html_response(TEMPLATES.get_template(name).render(context), status)


def html_response(html: str, status: int = 200) -> web.Response:
    """A console page (also the channels' own, e.g. the X inbox): its security headers."""
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none';"
        " script-src 'self'; connect-src 'self'"  # the reply box: /console/lint.js, /api/v1/lint
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def console(request: web.Request) -> web.Response:
    token = _token(request)
    if not _signed_in(request, token):
        return _page("login.html.j2", error=None)
    return await _dashboard(request, token)


async def _dashboard(
    request: web.Request, token: str, *, errors: list[str] | None = None, status: int = 200
) -> web.Response:
    service = request.app[SERVICE]
    state = service.state
    now = service.clock()
    feed = state.feed
    names = request.app[CHANNELS]
    revision, channels = await consistency.check(service.store, names)
    ledger = await service.store.ledger()
    told: dict[str, list[dict[str, Any]]] = {}
    for entry in ledger:
        told.setdefault(entry.incident_id, []).append(
            {
                "channel": entry.channel,
                "target": entry.target,
                "revision": entry.revision,
                "current": entry.fingerprint
                == state.statement(entry.incident_id).facts_fingerprint()
                if feed.incident(entry.incident_id)
                else False,
            }
        )
    incidents = [
        {
            "incident": incident,
            "title": state.statement(incident.id).title,
            "texts": {
                channel: {
                    locale: state.render(channel, incident, locale, now)
                    for locale in feed.organization.locales
                }
                for channel in state.renderers
            },
            "told": told.get(incident.id, []),
            "notes": [
                line
                for channel in default_registry().channels
                for line in await channel.incident_lines(service.store, incident.id)
            ],
        }
        # Open as told now: a maintenance whose window has ended is no longer listed.
        for incident in state.lookup.open_at(now)
    ]
    open_now = state.lookup.open_at(now)
    rows = overview(
        service.registry,
        request.app[SETTINGS],
        feed,
        state.revision.number,
        len(open_now),
        channels,
        now.timestamp(),
    )
    return _page(
        "console.html.j2",
        status=status,
        revision=revision,
        channels=[r.as_json() for r in rows],
        warnings=_warnings(state, now),
        coming=_coming(state, now),
        pages=[page for ch in default_registry().channels for page in ch.console_pages()],
        channel_details={
            name: lines for name, (_, lines) in (await request.app[DETAILS]()).items()
        },
        incidents=incidents,
        locales=feed.organization.locales,
        services=feed.services,
        areas=feed.areas,
        statuses=[s.value for s in Status],
        severities=[s.value for s in Severity],
        csrf=_derive(token, "csrf"),
        errors=errors or [],
        problems_of_feed=[str(p) for p in service.last_problems],
    )


async def login(request: web.Request) -> web.Response:
    token = _token(request)
    form = await request.post()
    given = str(form.get("token", ""))
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _page("login.html.j2", status=401, error="wrong token")
    response = web.HTTPSeeOther("/console")
    # The reply box calls the lint with the same session, under its own name and path.
    for name, path in ((COOKIE, "/console"), (LINT_COOKIE, LINT_PATH)):
        response.set_cookie(
            name,
            _derive(token, "session"),
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path=path,
            max_age=12 * 3600,
        )
    raise response


async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/console")
    response.del_cookie(COOKIE, path="/console")
    response.del_cookie(LINT_COOKIE, path=LINT_PATH)
    raise response


def _texts(form: Any, name: str, locales: list[str]) -> dict[str, str] | None:
    values = {locale: str(form.get(f"{name}_{locale}", "")).strip() for locale in locales}
    return values if any(values.values()) else None


async def change(request: web.Request) -> web.Response:
    token = _token(request)
    if not _signed_in(request, token):
        raise web.HTTPUnauthorized(text="sign in first")
    form = await request.post()
    if not hmac.compare_digest(str(form.get("csrf", "")), _derive(token, "csrf")):
        raise web.HTTPForbidden(text="the form is stale or forged: reload the console")
    service = request.app[SERVICE]
    feed = service.state.feed
    tz = feed.organization.tz
    now = service.clock()
    locales = feed.organization.locales
    action = request.match_info["action"]

    def when(name: str) -> Any:
        value = str(form.get(name, "")).strip()
        return parse_when(value, now, tz) if value else None

    try:
        change: Change
        if action == "open":
            kind = str(form.get("kind", "incident"))
            change = OpenIncident.model_validate(
                _present(
                    id=str(form.get("id", "")).strip(),
                    kind=kind,
                    title=_texts(form, "title", locales),
                    summary=_texts(form, "summary", locales),
                    status=str(
                        form.get("status")
                        or ("scheduled" if kind == Kind.MAINTENANCE else "investigating")
                    ),
                    severity=str(form.get("severity", "major")),
                    services=form.getall("services", []),
                    areas=form.getall("areas", []),
                    eta=when("eta"),
                    next_update_by=when("next_update_by"),
                    workaround=_texts(form, "workaround", locales),
                    staff_instructions=_texts(form, "staff", locales),
                    maintenance_starts_at=when("window_start"),
                    maintenance_ends_at=when("window_end"),
                    confirm=bool(form.get("confirm")),
                )
            )
        elif action == "update":
            fields = _present(
                id=request.match_info["id"],
                status=str(form.get("status", "")) or None,
                eta=when("eta"),
                next_update_by=when("next_update_by"),
                message=_texts(form, "message", locales),
                workaround=_texts(form, "workaround", locales),
            )
            if form.get("clear_eta"):
                fields["clear_eta"] = True
            if form.get("confirm"):
                fields["confirm"] = True
            change = UpdateIncident.model_validate(fields)
        elif action == "resolve":
            change = ResolveIncident.model_validate(
                _present(id=request.match_info["id"], message=_texts(form, "message", locales))
            )
        else:
            raise web.HTTPNotFound()
        await service.apply(change, author="console", source="console")
    except ValidationError as exc:
        errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return await _dashboard(request, token, errors=errors, status=422)
    except (ChangeError, TimeInputError) as exc:
        return await _dashboard(request, token, errors=[str(exc)], status=409)
    except FeedError as exc:
        return await _dashboard(
            request, token, errors=[f"line {p.line}: {p.message}" for p in exc.problems], status=422
        )
    raise web.HTTPSeeOther(f"/console#{change.id}")


COMING_SHOWN = 20  # the soonest edges listed; GET /api/v1/schedule has them all


def _coming(state: FeedState, now: dt.datetime) -> list[dict[str, str]]:
    """The promises about to fall due, soonest first, and what happens at each."""
    tz = state.feed.organization.tz
    return [
        {
            "at": edge.at.astimezone(tz).strftime("%a %d %b %H:%M"),
            "incident": edge.incident_id,
            "edge": edge.edge.value.replace("_", " "),
            "what": WHAT_HAPPENS[edge.edge],
        }
        for edge in pending_edges(state.feed)[:COMING_SHOWN]
        if edge.at > now
    ]


def _warnings(state: FeedState, now: dt.datetime) -> list[dict[str, str]]:
    """Promises already broken: an overdue next update, an ETA passed unresolved."""
    tz = state.feed.organization.tz
    out = []
    for due in sorted(overdue_promises(state.feed, now)):
        when = due.at.astimezone(tz).strftime("%d/%m %H:%M")
        text = (
            f"the next update promised for {when} is overdue: give an update or a new time"
            if due.edge is Edge.NEXT_UPDATE_OVERDUE
            else f"the ETA {when} has passed unresolved: give a new ETA, or withdraw it"
        )
        out.append({"incident": due.incident_id, "text": text})
    return out


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def setup(app: web.Application) -> None:
    app.router.add_get("/console", console)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
    app.router.add_post("/console/incidents/{action:open}", change)
    app.router.add_post("/console/incidents/{id}/{action:update|resolve}", change)
