"""`POST /api/v1/lint`: the claims lint over HTTP, for scripts and the console's reply box.

Behind the admin bearer token like the rest of `/api/v1/`. The console's own page
may call it too, without the token in the page: signing in to the console also sets
its session in a cookie for this one path (SameSite=Strict, HttpOnly), and the page
sends its CSRF value in the `X-Unavoz-CSRF` header.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from importlib.resources import files
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.claims import LintInputError, lint_reply
from bot.claims.text import MAX_LENGTH
from bot.feed.changes import TimeInputError, parse_when
from bot.http.keys import SERVICE, SETTINGS

PATH = "/api/v1/lint"
SCRIPT_PATH = "/console/lint.js"
CSRF_HEADER = "X-Unavoz-CSRF"
_SCRIPT = files("bot.http").joinpath("lint_box.js").read_bytes()


class LintRequest(BaseModel):
    """A reply a person wrote to a customer, and what it answers."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description=f"The reply, Spanish or English, at most {MAX_LENGTH} characters."
    )
    incident: str | None = Field(default=None, description="The incident the reply answers.")
    area: str | None = Field(default=None, description="Area id the customer asked about.")
    postcode: str | None = Field(default=None, description="Postcode the customer asked about.")
    locale: Literal["es", "en"] | None = Field(
        default=None, description="Language of the findings (default: the reply's)."
    )
    at: str | None = Field(
        default=None, description="Check as of this time (ISO 8601, 14:30, +2h); default now."
    )


def console_may_lint(request: web.Request) -> bool:
    """The console page's own call: its session cookie and its CSRF header, both current."""
    from bot.console.routes import LINT_COOKIE, _derive  # the console owns its session

    token = request.app[SETTINGS].admin_token
    if not token or request.path != PATH:
        return False
    cookie = request.cookies.get(LINT_COOKIE, "")
    csrf = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(cookie, _derive(token, "session")) and hmac.compare_digest(
        csrf, _derive(token, "csrf")
    )


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def lint_endpoint(request: web.Request) -> web.Response:
    try:
        raw = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(400, f"the body is not JSON: {exc}")
    if not isinstance(raw, dict):
        return _error(400, "the body must be a JSON object")
    try:
        body = LintRequest.model_validate(raw)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        return _error(422, "invalid request", problems=problems)
    service = request.app[SERVICE]
    feed = service.state.feed
    tz = feed.organization.tz
    now: dt.datetime = service.clock()
    try:
        if body.at:
            now = parse_when(body.at, now.astimezone(tz), tz)
        result = lint_reply(
            body.text,
            feed,
            now,
            incident=body.incident,
            area=body.area,
            postcode=body.postcode,
            locale=body.locale,
        )
    except (LintInputError, TimeInputError) as exc:
        return _error(422, str(exc))
    return web.json_response(result.as_json())


async def lint_script(_: web.Request) -> web.Response:
    response = web.Response(body=_SCRIPT, content_type="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def setup(app: web.Application) -> None:
    app.router.add_post(PATH, lint_endpoint)
    app.router.add_get(SCRIPT_PATH, lint_script)


def openapi_paths() -> dict[str, Any]:
    def schema(name: str, description: str) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{name}"}
        return {"description": description, "content": {"application/json": {"schema": ref}}}

    return {
        "/lint": {
            "post": {
                "summary": "Check a reply a person wrote against the feed (claims lint)",
                "description": "ok is false exactly when a finding blocks. A finding's start "
                "and end are character offsets in text (Python str indices: code points).",
                "requestBody": {"required": True, **schema("LintRequest", "The reply")},
                "responses": {
                    "200": schema("LintResult", "The findings"),
                    "400": schema("Error", "The body is not a JSON object"),
                    "401": schema("Error", "Missing or wrong bearer token"),
                    "403": schema("Error", "The admin API is off (UNAVOZ_ADMIN_TOKEN not set)"),
                    "422": schema("Error", "Empty or too long text, unknown incident or area"),
                },
            }
        }
    }


def openapi_schemas() -> dict[str, Any]:
    finding = {
        "type": "object",
        "required": ["kind", "start", "end", "claim", "feed_says", "suggestion", "blocks"],
        "properties": {
            "kind": {
                "type": "string",
                "enum": ["eta", "resolved", "area", "service", "contact", "next_update"],
            },
            "start": {"type": "integer"},
            "end": {"type": "integer"},
            "claim": {"type": "string", "description": "The words that make the claim"},
            "feed_says": {"type": "string"},
            "suggestion": {"type": "string"},
            "blocks": {"type": "boolean", "description": "False when the feed only warns"},
        },
    }
    result = {
        "type": "object",
        "required": ["ok", "findings"],
        "properties": {
            "ok": {"type": "boolean"},
            "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
            "locale": {"type": "string"},
            "incidents": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    }
    return {
        "LintRequest": LintRequest.model_json_schema(),
        "Finding": finding,
        "LintResult": result,
    }
