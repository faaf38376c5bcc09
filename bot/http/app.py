"""The `unavoz run` HTTP server: health, metrics, consistency, the admin API and the console;
each channel adds its own routes (`Channel.setup_http`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import metrics
from bot.channel import ChannelContext
from bot.console import routes as console
from bot.delivery import consistency
from bot.delivery.adapter import ChannelAdapter
from bot.http import admin
from bot.http.keys import CHANNELS, DETAILS, SERVICE, SETTINGS
from bot.registry import Registry, default_registry
from bot.service import FeedService
from bot.settings import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        key = (name, method, status)
        series = _SERIES.get(key)
        if series is None:  # a label lookup per request showed in the banner bench
            series = _SERIES[key] = metrics.HTTP_REQUESTS.labels(name, method, str(status))
        series.observe(time.perf_counter() - started)


# Per route, method and status: bounded, as routes are fixed and unmatched paths share one.
_SERIES: dict[tuple[str, str, int], Any] = {}
# Any token is a method to HTTP: one a client made up must not make a series of its own.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if not service.has_state:
        return web.json_response({"status": "starting"}, status=503)
    state = service.state
    # What is true now: whether the file on disk is valid (a restored file or a valid change
    # clears an earlier invalid edit), and if not, where and since when.
    body: dict[str, Any] = {
        "status": "ok",
        "revision": state.revision.number,
        "feed_valid": not service.last_problems,
    }
    if service.last_problems:
        body["feed_problems"] = [str(p) for p in service.last_problems]
        if service.invalid_since is not None:
            body["invalid_since"] = service.invalid_since.isoformat()
    return web.json_response(body)


async def metrics_endpoint(_: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def consistency_endpoint(request: web.Request) -> web.Response:
    """Per channel: in sync, lagging (by how many revisions, since when) or failing (why)."""
    store = request.app[SERVICE].store
    names = request.app[CHANNELS]
    revision, channels = await consistency.check(store, names)
    report = consistency.report(revision, channels)
    for name, (details, _) in (await request.app[DETAILS]()).items():
        report["channels"].setdefault(name, {"channel": name})["details"] = details
    return web.json_response(report)


def create_app(
    service: FeedService,
    settings: Settings,
    *,
    adapters: Sequence[ChannelAdapter] = (),
    channels: Sequence[str] | None = None,
    registry: Registry | None = None,
    context: ChannelContext | None = None,
) -> web.Application:
    """The server's application. `adapters`: the delivering channels of this deployment
    (their names are the ones `/consistency` reports, unless `channels` says otherwise)."""
    registry = registry or default_registry()
    app = web.Application(middlewares=[measure])
    app[SERVICE] = service
    app[SETTINGS] = settings
    app[CHANNELS] = tuple(channels if channels is not None else [a.name for a in adapters])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/consistency", consistency_endpoint)
    admin.setup(app)
    console.setup(app)
    if context is None:
        context = ChannelContext(settings, service.store, service, service.clock, list(adapters))
    known = context

    async def details() -> dict[str, tuple[dict[str, Any], list[str]]]:
        found = {}
        for channel in registry.channels:
            given = await channel.details(service.store, known.adapters)
            if given is not None:
                found[channel.name] = (given, channel.detail_lines(given))
        return found

    app[DETAILS] = details
    for channel in registry.channels:
        channel.setup_http(app, context)
    return app
