"""Admin API `/api/v1/`: read the feed and its revisions; open, update, resolve incidents.

The same operations as `unavoz incident …` (both call `FeedService.apply`).
Every route but the OpenAPI description needs `Authorization: Bearer
$UNAVOZ_ADMIN_TOKEN`; with no token configured the admin API is off.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.edges import WHAT_HAPPENS, overdue_promises, pending_edges
from bot.feed.changes import (
    Change,
    ChangeError,
    NeedsConfirmation,
    OpenIncident,
    ResolveIncident,
    UnknownIncident,
    UpdateIncident,
    past_warning,
)
from bot.feed.yamlsource import FeedError
from bot.http import lint
from bot.http.keys import SERVICE, SETTINGS
from bot.http.openapi import openapi_yaml
from bot.service import InvalidHandEdit
from bot.store import RevisionRecord

PREFIX = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(PREFIX + "/") or request.path == f"{PREFIX}/openapi.yaml":
        return await handler(request)
    token = request.app[SETTINGS].admin_token
    if not token:
        return error(403, "the admin API is off: set UNAVOZ_ADMIN_TOKEN to turn it on")
    if lint.console_may_lint(request):  # the console's reply box, signed in without the token
        return await handler(request)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        response = error(401, "missing or wrong bearer token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="unavoz"'
        return response
    return await handler(request)


def revision_meta(record: RevisionRecord) -> dict[str, Any]:
    return {
        "number": record.number,
        "content_hash": record.content_hash,
        "author": record.author,
        "source": record.source,
        "created_at": record.created_at.isoformat(),
    }


async def get_feed(request: web.Request) -> web.Response:
    state = request.app[SERVICE].state
    return web.json_response(
        {"revision": revision_meta(state.revision), "feed": state.feed.model_dump(mode="json")}
    )


async def list_revisions(request: web.Request) -> web.Response:
    try:
        limit = int(request.query.get("limit", "50"))
        before = int(request.query["before"]) if "before" in request.query else None
    except ValueError:
        return error(400, "limit and before must be whole numbers")
    if not 1 <= limit <= 500 or (before is not None and before < 1):
        return error(400, "limit must be 1 to 500, and before a revision number from 1")
    records = await request.app[SERVICE].store.list_revisions(limit=limit, before=before)
    return web.json_response({"revisions": [revision_meta(r) for r in records]})


async def get_revision(request: web.Request) -> web.Response:
    try:
        number = int(request.match_info["number"])
    except ValueError:
        return error(400, "a revision number is a whole number")
    record = await request.app[SERVICE].store.get_revision(number)
    if record is None:
        return error(404, f"no revision {number}")
    return web.json_response({**revision_meta(record), "document": record.document})


async def list_incidents(request: web.Request) -> web.Response:
    feed = request.app[SERVICE].state.feed
    wanted = request.query.get("status", "open")
    incidents = [i.model_dump(mode="json") for i in feed.incidents if wanted == "all" or i.is_open]
    return web.json_response({"incidents": incidents})


async def get_incident(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    state = service.state
    incident = state.feed.incident(request.match_info["id"])
    if incident is None:
        return error(404, f"no incident with id {request.match_info['id']!r}")
    now = service.clock()
    channels = {
        channel: {
            locale: state.render(channel, incident, locale, now)
            for locale in state.feed.organization.locales
        }
        for channel in state.renderers
    }
    return web.json_response(
        {
            "revision": state.revision.number,
            "incident": incident.model_dump(mode="json"),
            "channels": channels,
        }
    )


async def get_schedule(request: web.Request) -> web.Response:
    """The time edges still to come (and any already due), soonest first, with what will
    happen at each: derived from the feed, as the scheduler derives them."""
    service = request.app[SERVICE]
    now = service.clock()
    edges = pending_edges(service.state.feed)
    return web.json_response(
        {
            "now": now.isoformat(),
            "revision": service.state.revision.number,
            "edges": [
                {**edge.as_json(), "due": edge.at <= now, "what_happens": WHAT_HAPPENS[edge.edge]}
                for edge in edges
            ],
            "overdue": [e.as_json() for e in overdue_promises(service.state.feed, now)],
        }
    )


async def _body(request: web.Request, model: type[BaseModel], **fixed: Any) -> BaseModel:
    try:
        raw = await request.json() if request.can_read_body else {}
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"the body is not JSON: {exc}"}),
            content_type="application/json",
        ) from None
    except UnicodeDecodeError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps(
                {"error": f"the body is not UTF-8 (byte {exc.start}): send JSON in UTF-8"}
            ),
            content_type="application/json",
        ) from None
    if not isinstance(raw, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be a JSON object"}),
            content_type="application/json",
        )
    return model.model_validate({**raw, **fixed})


async def _apply(request: web.Request, change: Change, status: int = 200) -> web.Response:
    service = request.app[SERVICE]
    # An author is written into the feed: printable characters only, and short.
    given = request.headers.get("X-Unavoz-Author", "")
    author = "".join(ch for ch in given if ch.isprintable()).strip()[:80] or "api"
    try:
        state = await service.apply(change, author=author, source="api")
    except UnknownIncident as exc:
        return error(404, str(exc))
    except NeedsConfirmation as exc:
        return error(409, str(exc), kind="needs_confirmation")
    except InvalidHandEdit as exc:
        return error(
            409,
            str(exc),
            kind="invalid_hand_edit",
            problems=[{"line": p.line, "message": p.message} for p in exc.problems],
            since=exc.since.isoformat(),
            by=exc.by,
        )
    except ChangeError as exc:
        return error(409, str(exc))
    except FeedError as exc:
        problems = [{"line": p.line, "message": p.message} for p in exc.problems]
        return error(422, "the change would make the feed invalid", problems=problems)
    incident = state.feed.incident(change.id)
    body: dict[str, Any] = {
        "revision": revision_meta(state.revision),
        "incident": incident.model_dump(mode="json") if incident else None,
    }
    warning = past_warning(change, service.clock(), state.feed.organization.tz)
    if warning:  # made, as confirmed: the answer still says what was odd about it
        body["warnings"] = [warning]
    return web.json_response(body, status=status)


def _validation_errors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
            return error(422, "invalid request", problems=problems)

    return wrapped


@_validation_errors
async def open_incident(request: web.Request) -> web.StreamResponse:
    change = await _body(request, OpenIncident)
    assert isinstance(change, OpenIncident)
    return await _apply(request, change, status=201)


@_validation_errors
async def update_incident(request: web.Request) -> web.StreamResponse:
    change = await _body(request, UpdateIncident, id=request.match_info["id"])
    assert isinstance(change, UpdateIncident)
    return await _apply(request, change)


@_validation_errors
async def resolve_incident(request: web.Request) -> web.StreamResponse:
    change = await _body(request, ResolveIncident, id=request.match_info["id"])
    assert isinstance(change, ResolveIncident)
    return await _apply(request, change)


async def openapi(_: web.Request) -> web.Response:
    return web.Response(body=openapi_yaml(), content_type="application/yaml")


def setup(app: web.Application) -> None:
    app.middlewares.append(require_token)
    router = app.router
    router.add_get(f"{PREFIX}/openapi.yaml", openapi)
    router.add_get(f"{PREFIX}/feed", get_feed)
    router.add_get(f"{PREFIX}/revisions", list_revisions)
    router.add_get(f"{PREFIX}/revisions/{{number}}", get_revision)
    router.add_get(f"{PREFIX}/incidents", list_incidents)
    router.add_post(f"{PREFIX}/incidents", open_incident)
    router.add_get(f"{PREFIX}/incidents/{{id}}", get_incident)
    router.add_patch(f"{PREFIX}/incidents/{{id}}", update_incident)
    router.add_post(f"{PREFIX}/incidents/{{id}}/resolve", resolve_incident)
    router.add_get(f"{PREFIX}/schedule", get_schedule)
    lint.setup(app)
