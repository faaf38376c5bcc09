"""The X inbox over HTTP: `GET /api/v1/x/mentions`, `POST /api/v1/x/mentions/{id}/reply` and
`…/dismiss` (admin API: the server's bearer-token middleware guards every `/api/v1/` path),
and the console's page `/console/x` (the console's own session and CSRF field)."""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.console.routes import _derive, _signed_in, _token, html_response
from bot.http.admin import error
from bot.http.keys import SERVICE
from channels.x.adapter import XAdapter
from channels.x.inbox import Inbox, ReplyRefused
from channels.x.status import lines, x_state

PREFIX = "/api/v1/x"
INBOX = web.AppKey("x_inbox", Inbox)
ADAPTER: web.AppKey[XAdapter | None] = web.AppKey("x_adapter")
STATES = ("new", "replied", "auto_replied", "dismissed")
TEMPLATES = Environment(
    loader=PackageLoader("channels.x", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


class ReplyRequest(BaseModel):
    """A reply to a mention: the draft (no text) or a person's text; an override sends a
    reply the claims lint blocks, with the reason recorded."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="The reply; leave out to send the draft.")
    override: bool = Field(default=False, description="Send although the claims lint blocks.")
    reason: str | None = Field(default=None, description="Why (with override; ≥ 10 chars).")


def _author(request: web.Request) -> str:
    return request.headers.get("X-Unavoz-Author", "").strip() or "api"


async def list_mentions(request: web.Request) -> web.Response:
    inbox = request.app[INBOX]
    state = request.query.get("state")
    if state is not None and state not in STATES:
        return error(400, f"state is one of {', '.join(STATES)}")
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 500)
    except ValueError:
        return error(400, "limit must be a whole number")
    found = await inbox.store.x_mentions(limit=limit, state=state)
    return web.json_response(
        {
            "mentions": [inbox.as_json(m) for m in found],
            "x": await x_state(inbox.store, request.app[ADAPTER]),
        }
    )


async def reply(request: web.Request) -> web.Response:
    try:
        raw = await request.json()
        body = ReplyRequest.model_validate(raw if raw is not None else {})
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error(400, "the body is not JSON")
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        return error(422, "invalid request", problems=problems)
    if body.override and not body.reason:
        return error(422, "an override needs a reason")
    inbox = request.app[INBOX]
    try:
        mention = await inbox.reply(
            request.match_info["id"],
            body.text,
            author=_author(request),
            override_reason=body.reason if body.override else None,
        )
    except ReplyRefused as refused:
        return error(refused.status, str(refused), **refused.details)
    return web.json_response(inbox.as_json(mention), status=202)


async def dismiss(request: web.Request) -> web.Response:
    inbox = request.app[INBOX]
    try:
        mention = await inbox.dismiss(request.match_info["id"], author=_author(request))
    except ReplyRefused as refused:
        return error(refused.status, str(refused), **refused.details)
    return web.json_response(inbox.as_json(mention))


# The console's page ----------------------------------------------------------------------


async def console_page(
    request: web.Request, *, notice: str | None = None, problem: dict[str, Any] | None = None
) -> web.Response:
    token = _token(request)
    if not _signed_in(request, token):
        raise web.HTTPSeeOther("/console")
    inbox = request.app[INBOX]
    found = await inbox.store.x_mentions(limit=200)
    state = await x_state(inbox.store, request.app[ADAPTER])
    html = TEMPLATES.get_template("inbox.html.j2").render(
        mentions=[inbox.as_json(m) for m in found],
        x=state,
        x_lines=lines(state),
        csrf=_derive(token, "csrf"),
        notice=notice,
        problem=problem,
        revision=request.app[SERVICE].state.revision.number,
    )
    return html_response(html, 422 if problem is not None else 200)


async def console_act(request: web.Request) -> web.Response:
    token = _token(request)
    if not _signed_in(request, token):
        raise web.HTTPUnauthorized(text="sign in first")
    form = await request.post()
    if not hmac.compare_digest(str(form.get("csrf", "")), _derive(token, "csrf")):
        raise web.HTTPForbidden(text="the form is stale or forged: reload the console")
    inbox = request.app[INBOX]
    post_id = request.match_info["id"]
    action = str(form.get("action", ""))
    author = str(form.get("author", "")).strip() or "console"
    try:
        if action == "dismiss":
            await inbox.dismiss(post_id, author=author)
        elif action in ("send", "edit"):
            text = str(form.get("text", "")) if action == "edit" else None
            reason = str(form.get("reason", "")).strip() or None
            await inbox.reply(post_id, text, author=author, override_reason=reason)
        else:
            raise web.HTTPBadRequest(text="unknown action")
    except ReplyRefused as refused:
        return await console_page(
            request,
            problem={"id": post_id, "message": str(refused), **refused.details},
        )
    raise web.HTTPSeeOther(f"/console/x#m{post_id}")


def setup(app: web.Application, inbox: Inbox, adapter: XAdapter | None) -> None:
    app[INBOX] = inbox
    app[ADAPTER] = adapter
    app.router.add_get(f"{PREFIX}/mentions", list_mentions)
    app.router.add_post(f"{PREFIX}/mentions/{{id}}/reply", reply)
    app.router.add_post(f"{PREFIX}/mentions/{{id}}/dismiss", dismiss)
    app.router.add_get("/console/x", console_page)
    app.router.add_post("/console/x/mentions/{id}", console_act)
