"""X (Twitter): each incident a thread of posts per locale, mentions to an inbox, replies.

Posts go through the delivery engine (`XAdapter`: one tweepy AsyncClient, exactly once,
X's rate limits honoured); mentions are polled by the instance holding the scheduler
role and matched to incidents with a drafted reply (`inbox.py`); a community manager
answers from the console (`/console/x`) or the admin API (`/api/v1/x/mentions`), every
reply checked by the claims lint. Off without the OAuth 1.0a user credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel

from bot.channel import Channel, ChannelContext, admin_op, missing, options_of
from bot.delivery.adapter import ChannelAdapter
from bot.render.renderer import ChannelRenderer
from bot.scheduler import Scheduler
from bot.settings import EnvSection, Settings, secret
from bot.store import Store
from channels.x import routes, status
from channels.x.adapter import XAdapter
from channels.x.inbox import Inbox
from channels.x.options import XOptions, XSettings
from channels.x.renderer import XRenderer

CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")

__all__ = ["XAdapter", "XChannel", "XOptions", "XSettings"]


class XChannel(Channel):
    name: ClassVar[str] = "x"
    title: ClassVar[str] = "X"
    description: ClassVar[str] = "Posts and replies on X."

    def admin_paths(self) -> dict[str, Any]:
        from channels.x.routes import ReplyRequest

        mention = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        return {
            "/x/mentions": {
                "get": admin_op("Mentions, newest first, with matched incidents and drafts")
            },
            "/x/mentions/{id}/reply": {
                "post": {
                    **admin_op(
                        "Reply to a mention (the draft, or a checked text)", body=ReplyRequest
                    ),
                    "parameters": [mention],
                }
            },
            "/x/mentions/{id}/dismiss": {
                "post": {
                    **admin_op("Mark a mention as not about an incident"),
                    "parameters": [mention],
                }
            },
        }

    def console_pages(self) -> list[tuple[str, str]]:
        return [("/console/x", "X mentions")]

    renderer: ClassVar[ChannelRenderer | None] = XRenderer()
    options_model: ClassVar[type[BaseModel]] = XOptions
    settings_model: ClassVar[type[EnvSection] | None] = XSettings

    def _settings(self, settings: Settings) -> XSettings:
        return settings.section(self.name, XSettings)

    def state(self, settings: Settings) -> str:
        x = self._settings(settings)
        found = missing(x, *CREDENTIALS)
        if found != "on":
            return found
        return f"on ({x.api_url or 'https://api.twitter.com'})"

    def adapter(self, settings: Settings) -> ChannelAdapter | None:
        x = self._settings(settings)
        consumer_secret = secret(x.consumer_secret)
        token_secret = secret(x.access_token_secret)
        if not (x.consumer_key and consumer_secret and x.access_token and token_secret):
            return None
        return XAdapter(
            consumer_key=x.consumer_key,
            consumer_secret=consumer_secret,
            access_token=x.access_token,
            access_token_secret=token_secret,
            bearer_token=secret(x.bearer_token),
            api_url=x.api_url,
            poll_seconds=x.poll_seconds,
        )

    def setup(self, context: ChannelContext, scheduler: Scheduler) -> None:
        adapter = _adapter_in(context.adapters)
        if adapter is None:
            return
        service = context.service
        adapter.store = context.store

        def options() -> XOptions:
            return options_of(service.state.feed, self.name, XOptions)

        adapter.reserve = lambda: options().daily_reserve
        adapter.poll_every = lambda: options().poll_seconds
        inbox = Inbox(context.store, service, lambda: context.wake())
        context.dispatcher.on(self.name, inbox.receive)

    def setup_http(self, app: web.Application, context: ChannelContext) -> None:
        adapter = _adapter_in(context.adapters)
        routes.setup(app, Inbox(context.store, context.service, context.wake), adapter)

    async def details(
        self, store: Store, adapters: Sequence[ChannelAdapter]
    ) -> dict[str, Any] | None:
        adapter = _adapter_in(adapters)
        found = await status.x_state(store, adapter)
        return found if adapter is not None or found["locales"] else None

    def detail_lines(self, details: dict[str, Any]) -> list[str]:
        return status.lines(details)


def _adapter_in(adapters: Sequence[ChannelAdapter]) -> XAdapter | None:
    return next((a for a in adapters if isinstance(a, XAdapter)), None)
