"""Public web routes: banner JSON, status page, Atom, Statuspage-shaped JSON, live events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from aiohttp import web
from aiohttp_sse import sse_response

from bot.channel import options_of
from bot.http.keys import SERVICE
from bot.state import FeedState
from channels.web import views
from channels.web.options import WebOptions
from channels.web.page import render_status_page

CACHE = "public, max-age=15, stale-while-revalidate=60"
log = logging.getLogger(__name__)


CLOSED = -1  # sentinel: the server is shutting down


class EventHub:
    """Fans each new revision out to every open `/events` stream."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[int]] = set()
        self.revision = 0

    async def publish(self, state: FeedState) -> None:
        self.revision = state.revision.number
        for queue in self._queues:
            queue.put_nowait(self.revision)

    async def close(self, _: web.Application | None = None) -> None:
        """End every stream (on shutdown: open streams must not hold the server up)."""
        for queue in self._queues:
            queue.put_nowait(CLOSED)

    @contextlib.contextmanager
    def subscription(self) -> Any:
        queue: asyncio.Queue[int] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


EVENTS: web.AppKey[EventHub] = web.AppKey("events")
REFUSED_ORIGINS: web.AppKey[set[str]] = web.AppKey("refused_origins")
BANNERS: web.AppKey[dict[tuple[Any, ...], tuple[bytes, str]]] = web.AppKey("banners")


def _state(request: web.Request) -> FeedState:
    service = request.app[SERVICE]
    if not service.has_state:
        raise web.HTTPServiceUnavailable(text="no revision loaded yet")
    return service.state


def _locale(request: web.Request, state: FeedState) -> str:
    return views.pick_locale(
        state.feed, request.query.get("lang"), request.headers.get("Accept-Language")
    )


def _cors(request: web.Request, state: FeedState, response: web.StreamResponse) -> None:
    """What the web tells is public: any origin may read it, unless the feed restricts it to
    the origins it lists (channels.web.options.cors_origins, an opt-in). A refused origin is
    logged once, with the fix, so a banner that shows nothing is never a silent mystery."""
    origin = request.headers.get("Origin")
    allowed = options_of(state.feed, "web", WebOptions).cors_origins
    response.headers["Vary"] = "Origin, Accept-Language"
    if not allowed or "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
    elif origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "ETag"
    elif origin:
        refused = request.app[REFUSED_ORIGINS]
        if origin not in refused and len(refused) < 1000:
            refused.add(origin)
            log.warning(
                "a page on %s asked for %s and was refused: its banner shows nothing. "
                "Add %r to channels.web.options.cors_origins in the feed (or leave the "
                "list empty: everything the web tells is public)",
                origin[:100],
                request.path,
                origin[:100],
            )


def _cached(
    request: web.Request,
    state: FeedState,
    body: bytes,
    content_type: str,
    tag: str | None = None,
) -> web.Response:
    tag = tag or views.etag(body)
    headers = {"ETag": tag, "Cache-Control": CACHE}
    match = request.headers.get("If-None-Match")
    if match and tag in {t.strip() for t in match.split(",")}:
        response = web.Response(status=304, headers=headers)
    else:
        if content_type.startswith(("application/json", "text/", "application/atom")):
            content_type += "; charset=utf-8"
        headers["Content-Type"] = content_type
        response = web.Response(body=body, headers=headers)
    _cors(request, state, response)
    return response


def _json_view(build: Callable[[FeedState, Any, str], dict[str, Any]]) -> Any:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        body = views.dumps(build(state, request.app[SERVICE].clock(), _locale(request, state)))
        return _cached(request, state, body, "application/json")

    return handler


async def banner_json(request: web.Request) -> web.Response:
    state = _state(request)
    area = request.query.get("area") or None
    service = request.query.get("service") or None
    if area and area not in state.lookup.area_ids:
        raise web.HTTPNotFound(text=f"unknown area {area[:40]!r}")
    if service and service not in state.lookup.service_ids:
        raise web.HTTPNotFound(text=f"unknown service {service[:40]!r}")
    now = request.app[SERVICE].clock()
    locale = _locale(request, state)
    # The banner changes with a revision or as the clock turns a minute ("today at…"): built
    # once per minute per page kind, then served from memory — it is the hottest path.
    key = (state.revision.number, now.replace(second=0, microsecond=0), locale, area, service)
    cache = request.app[BANNERS]
    entry = cache.get(key)
    if entry is None:
        body = views.dumps(views.banner(state, now, locale, area=area, service=service))
        if len(cache) > 4096:
            cache.clear()
        entry = cache[key] = (body, views.etag(body))
    body, tag = entry
    return _cached(request, state, body, "application/json", tag)


async def preflight(request: web.Request) -> web.Response:
    response = web.Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET"
    response.headers["Access-Control-Allow-Headers"] = "If-None-Match, Last-Event-ID"
    response.headers["Access-Control-Max-Age"] = "600"
    _cors(request, _state(request), response)
    return response


async def status_page(request: web.Request) -> web.Response:
    state = _state(request)
    html = render_status_page(
        state,
        request.app[SERVICE].clock(),
        _locale(request, state),
        postcode=request.query.get("postcode") or None,
    )
    response = _cached(request, state, html.encode("utf-8"), "text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def atom_feed(request: web.Request) -> web.Response:
    state = _state(request)
    body = views.atom(
        state, _locale(request, state), str(request.url), request.app[SERVICE].clock()
    )
    return _cached(request, state, body, "application/atom+xml")


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: `id:` is the revision; a reconnect with Last-Event-ID catches up."""
    state = _state(request)
    hub = request.app[EVENTS]
    try:
        last_seen = int(request.headers.get("Last-Event-ID", "0") or 0)
    except ValueError:
        last_seen = 0
    cors = web.Response()
    _cors(request, state, cors)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **cors.headers}
    headers.pop("Content-Type", None)
    with hub.subscription() as queue:
        async with sse_response(request, headers=headers, ping_interval=15) as stream:
            try:
                current = request.app[SERVICE].state.revision.number
                if current != last_seen:
                    await stream.send(
                        json.dumps({"revision": current}), id=str(current), event="revision"
                    )
                while stream.is_connected():
                    revision = await queue.get()
                    if revision == CLOSED:
                        break
                    await stream.send(
                        json.dumps({"revision": revision}), id=str(revision), event="revision"
                    )
            except ConnectionResetError:
                # The reader went away (a tab closed, a phone asleep): normal, not an error.
                log.debug("an /events client went away")
    return stream


BANNER_JS = files("channels.web").joinpath("static/banner.js").read_bytes()


async def banner_js(request: web.Request) -> web.Response:
    tag = views.etag(BANNER_JS)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=300"}
    if tag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=BANNER_JS, headers=headers, content_type="text/javascript")
    response.charset = "utf-8"
    return response


def setup(app: web.Application) -> EventHub:
    hub = EventHub()
    app[EVENTS] = hub
    app[BANNERS] = {}
    app[REFUSED_ORIGINS] = set()
    app[SERVICE].subscribe(hub.publish)
    app.on_shutdown.append(hub.close)
    router = app.router
    router.add_get("/banner.json", banner_json)
    for path in ("/banner.json", "/events", "/feed.atom", "/api/v2/summary.json"):
        router.add_route("OPTIONS", path, preflight)
    router.add_get("/status", status_page)
    router.add_get("/feed.atom", atom_feed)
    router.add_get("/events", events)
    router.add_get("/banner.js", banner_js)
    router.add_get("/api/v2/summary.json", _json_view(views.statuspage_summary))
    router.add_get("/api/v2/status.json", _json_view(views.statuspage_status))
    router.add_get("/api/v2/incidents/unresolved.json", _json_view(views.statuspage_unresolved))
    return hub
