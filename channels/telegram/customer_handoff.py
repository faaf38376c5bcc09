"""Hand-offs: a customer who asks for a person, in the operators' console; the team's replies.

`/human` (or "persona", "hablar con alguien"…) opens a hand-off: the conversation shows in
`/console/customer` and `GET /api/v1/customer/handoffs`, where a community manager reads
it and replies. Every reply passes the claims lint against the current feed, narrowed to
the places the customer asked about; a reply it blocks is refused with the findings
unless sent with an override and a reason (both kept with the message). The reply is
recorded and queued in the outbox in one transaction, so it goes out once, through the
bot, within Telegram's limits. Also here: `GET /api/v1/subscriptions/summary` — how many
listen to each place, per channel and by area, and the open hand-offs (no personal data).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.channel import ChannelContext
from bot.claims import ReplyBlocked, gate_reply
from bot.console.routes import _derive, _signed_in, _token, html_response
from bot.feed.models import Feed
from bot.http.admin import error
from bot.inbound import Inbound
from bot.service import FeedService
from bot.store import Handoff, PlaceKind, Store
from channels.telegram.customer_bot import HandoffDesk, reply_delivery
from channels.telegram.customer_delivery import CustomerAdapter
from channels.telegram.customer_notify import places_of
from channels.telegram.customer_replies import Said, parse_place
from channels.telegram.customer_words import word
from channels.telegram.limits import CHAT_LIMIT

PREFIX = "/api/v1/customer/handoffs"
SUMMARY = "/api/v1/subscriptions/summary"
HANDOFFS: web.AppKey[Handoffs] = web.AppKey("customer_handoffs")
STORE: web.AppKey[Store] = web.AppKey("customer_store")
MAX_KEPT = 4096  # characters of a customer's message kept (Telegram's own limit)
TEMPLATES = Environment(
    loader=PackageLoader("channels.telegram", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


class ReplyRefused(Exception):
    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


class Handoffs(HandoffDesk):
    def __init__(
        self,
        store: Store,
        service: FeedService,
        adapter: CustomerAdapter | None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.service = service
        self.adapter = adapter
        self.wake = wake

    # From the bot ------------------------------------------------------------------------

    async def is_open(self, chat: str) -> bool:
        return await self.store.handoff_is_open(chat)

    async def open(self, event: Inbound, text: str, locale: str, places: list[str]) -> None:
        await self.store.handoff_open(
            event.conversation,
            locale=locale,
            places=places,
            text=text[:MAX_KEPT],
            at=event.at.timestamp(),
        )

    async def customer_wrote(self, event: Inbound, text: str, locale: str) -> None:
        await self.store.handoff_customer_wrote(
            event.conversation, text[:MAX_KEPT], event.at.timestamp()
        )

    async def forget(self, chat: str) -> None:
        await self.store.handoff_forget(chat)

    # From the team -----------------------------------------------------------------------

    async def reply(
        self, chat: str, text: str, *, author: str, override_reason: str | None = None
    ) -> Handoff:
        """Send the team's `text` to the customer, if the claims lint lets it (or is
        overridden with a reason). Raises ReplyRefused."""
        handoff = await self.store.handoff(chat)
        if handoff is None:
            raise ReplyRefused(404, f"no hand-off with chat {chat}")
        text = text.strip()
        if not text:
            raise ReplyRefused(422, "the reply is empty")
        state = self.service.state
        now = self.service.clock()
        area = postcode = None
        for raw in handoff.places:
            place = parse_place(raw)
            if place is not None and place.kind is PlaceKind.AREA and area is None:
                area = place.value
            elif place is not None and place.kind is PlaceKind.POSTCODE and postcode is None:
                postcode = place.value
        incident = incident_of(state.feed, handoff.places)
        try:
            _, record = gate_reply(
                text,
                state.feed,
                now,
                author=author,
                override_reason=override_reason,
                incident=incident,
                area=None if incident else area,
                postcode=None if incident else postcode,
            )
        except ReplyBlocked as exc:
            details = {"lint": exc.lint.as_json()} if exc.lint is not None else {}
            raise ReplyRefused(422, str(exc), **details) from exc
        overridden = record.findings_json() if record is not None else None
        said = Said(f"{word(handoff.locale, 'from_team')} {text}")
        number = len(handoff.messages)
        limit = CHAT_LIMIT if self.adapter is None or self.adapter.chat_limits else None
        delivery = reply_delivery(state, chat, f"{chat}:team:{number}", said, limit)
        sent = await self.store.handoff_reply(
            chat,
            author=author,
            text=text,
            at=now.timestamp(),
            reply=delivery,
            override_reason=override_reason if overridden else None,
            overridden=overridden,
        )
        if not sent:
            raise ReplyRefused(409, "that reply was sent already")
        self.wake()
        done = await self.store.handoff(chat)
        assert done is not None
        return done

    async def close(self, chat: str, *, author: str) -> None:
        if not await self.store.handoff_close(chat, by=author, at=self.service.clock().timestamp()):
            raise ReplyRefused(404, f"no open hand-off with chat {chat}")


def incident_of(feed: Feed, places: Sequence[str]) -> str | None:
    """The one incident a hand-off is about: the only open one at the places the customer
    asked about, else the last one resolved there (a reply then must not say it is down)."""
    wanted = {p for p in (parse_place(raw) for raw in places) if p is not None}
    if not wanted:
        return None
    there = [i for i in feed.incidents if wanted & places_of(feed, i)]
    open_ = [i for i in there if i.is_open]
    if open_:
        return open_[0].id if len(open_) == 1 else None
    resolved = [i for i in there if i.resolved_at is not None]
    if not resolved:
        return None
    return max(resolved, key=lambda i: i.resolved_at or dt.datetime.min.replace(tzinfo=dt.UTC)).id


def as_json(handoff: Handoff) -> dict[str, Any]:
    def iso(moment: float) -> str:
        return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")

    return {
        "chat": handoff.chat_id,
        "locale": handoff.locale,
        "places": list(handoff.places),
        "state": handoff.state,
        "opened_at": iso(handoff.opened_at),
        "updated_at": iso(handoff.updated_at),
        "closed_by": handoff.closed_by,
        "messages": [
            {
                "from": m.sender,
                "author": m.author,
                "text": m.text,
                "at": iso(m.at),
                "override_reason": m.override_reason,
                "overridden": json.loads(m.overridden) if m.overridden else None,
            }
            for m in handoff.messages
        ],
    }


async def subscription_summary(store: Store, service: FeedService) -> dict[str, Any]:
    """Subscribers per channel and place, and by area (a postcode counts in its areas)."""
    counts = await store.subscription_counts()
    by_place: dict[str, dict[str, int]] = defaultdict(dict)
    by_area: dict[str, int] = defaultdict(int)
    areas_of = service.state.lookup.areas_of_postcode if service.has_state else {}
    for count in counts:
        by_place[count.channel][str(count.place)] = count.subscribers
        if count.place.kind is PlaceKind.AREA:
            by_area[count.place.value] += count.subscribers
        elif count.place.kind is PlaceKind.POSTCODE:
            for area in areas_of.get(count.place.value, ()):
                by_area[area] += count.subscribers
    open_handoffs = await store.handoffs(state="open", limit=1000)
    return {
        "channels": dict(by_place),
        "by_area": dict(sorted(by_area.items())),
        "open_handoffs": len(open_handoffs),
    }


# HTTP ------------------------------------------------------------------------------------


class ReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The reply, as the customer will read it.")
    override: bool = Field(default=False, description="Send although the claims lint blocks.")
    reason: str | None = Field(default=None, description="Why (with override; ≥ 10 chars).")


def _author(request: web.Request) -> str:
    return request.headers.get("X-Unavoz-Author", "").strip() or "api"


async def get_summary(request: web.Request) -> web.Response:
    handoffs = request.app[HANDOFFS]
    return web.json_response(await subscription_summary(handoffs.store, handoffs.service))


async def list_handoffs(request: web.Request) -> web.Response:
    state = request.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        return error(400, "state is one of open, closed, all")
    found = await request.app[HANDOFFS].store.handoffs(state=None if state == "all" else state)
    return web.json_response({"handoffs": [as_json(h) for h in found]})


async def get_handoff(request: web.Request) -> web.Response:
    found = await request.app[HANDOFFS].store.handoff(request.match_info["chat"])
    if found is None:
        return error(404, "no such hand-off")
    return web.json_response(as_json(found))


async def post_reply(request: web.Request) -> web.Response:
    try:
        body = ReplyRequest.model_validate(await request.json())
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
    try:
        done = await request.app[HANDOFFS].reply(
            request.match_info["chat"],
            body.text,
            author=_author(request),
            override_reason=body.reason if body.override else None,
        )
    except ReplyRefused as refused:
        return error(refused.status, str(refused), **refused.details)
    return web.json_response(as_json(done), status=202)


async def post_close(request: web.Request) -> web.Response:
    try:
        await request.app[HANDOFFS].close(request.match_info["chat"], author=_author(request))
    except ReplyRefused as refused:
        return error(refused.status, str(refused))
    return web.json_response({"closed": request.match_info["chat"]})


async def console_page(
    request: web.Request, *, problem: dict[str, Any] | None = None
) -> web.Response:
    token = _token(request)
    if not _signed_in(request, token):
        raise web.HTTPSeeOther("/console")
    handoffs = request.app[HANDOFFS]
    found = [await handoffs.store.handoff(h.chat_id) for h in await handoffs.store.handoffs()]
    html = TEMPLATES.get_template("handoffs.html.j2").render(
        handoffs=[as_json(h) for h in found if h is not None],
        summary=await subscription_summary(handoffs.store, handoffs.service),
        csrf=_derive(token, "csrf"),
        problem=problem,
    )
    return html_response(html, 422 if problem is not None else 200)


async def console_act(request: web.Request) -> web.Response:
    token = _token(request)
    if not _signed_in(request, token):
        raise web.HTTPUnauthorized(text="sign in first")
    form = await request.post()
    if not hmac.compare_digest(str(form.get("csrf", "")), _derive(token, "csrf")):
        raise web.HTTPForbidden(text="the form is stale or forged: reload the console")
    handoffs = request.app[HANDOFFS]
    chat = request.match_info["chat"]
    author = str(form.get("author", "")).strip() or "console"
    try:
        if form.get("action") == "close":
            await handoffs.close(chat, author=author)
        else:
            reason = str(form.get("reason", "")).strip() or None
            await handoffs.reply(
                chat, str(form.get("text", "")), author=author, override_reason=reason
            )
    except ReplyRefused as refused:
        return await console_page(
            request, problem={"chat": chat, "message": str(refused), **refused.details}
        )
    raise web.HTTPSeeOther(f"/console/customer#c{chat}")


def setup_handoffs(app: web.Application, context: ChannelContext) -> None:
    adapter = next((a for a in context.adapters if isinstance(a, CustomerAdapter)), None)
    app[HANDOFFS] = Handoffs(context.store, context.service, adapter, context.wake)
    app.router.add_get(SUMMARY, get_summary)
    app.router.add_get(PREFIX, list_handoffs)
    app.router.add_get(f"{PREFIX}/{{chat}}", get_handoff)
    app.router.add_post(f"{PREFIX}/{{chat}}/reply", post_reply)
    app.router.add_post(f"{PREFIX}/{{chat}}/close", post_close)
    app.router.add_get("/console/customer", console_page)
    app.router.add_post("/console/customer/handoffs/{chat}", console_act)
