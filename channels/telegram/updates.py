"""Receiving from Telegram: long polling (getUpdates, its offset in the store) or a webhook.

Either way each update becomes one of the core's inbound events (`bot.inbound`):
a text (a command is text starting with "/") or a button pressed, handed to the
dispatcher. Polling runs as a unique listener, on the instance holding the
scheduler role (Telegram answers a second poller 409); the webhook route runs
wherever the HTTP server does, and rejects any request without the secret header.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.inbound import ButtonPressed, Dispatch, Inbound, Person, TextMessage
from bot.store import TelegramStore
from channels.telegram.bot_api import TelegramBot
from channels.telegram.limits import MAX_CALLBACK_DATA

log = logging.getLogger(__name__)
# One bot token serving two channels (staff and customers): the channel an event is for
# (asked of the store: an operator's conversation in the making is kept there).
Route = Callable[[Inbound], Awaitable[str]]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096  # Telegram's own limit: longer text is forged
MAX_BODY = 1 << 20  # an update is a few kB; a webhook body past this is refused
POLL_PAUSES = (1.0, 2.0, 5.0, 15.0)  # seconds after a failed getUpdates


def secret_token(token: str) -> str:
    """The webhook's secret, derived from the bot's token: every instance derives the same,
    and nobody without the token can forge it ([A-Za-z0-9_-], as Telegram requires)."""
    return hashlib.sha256(f"unavoz-webhook:{token}".encode()).hexdigest()


def _person(user: Any) -> Person:
    return Person(id=str(user.id), name=user.full_name or None, locale=user.language_code)


def event_of(update: Update, channel: str, now: dt.datetime) -> Inbound | None:
    """The inbound event an update carries; None for anything else (or anything malformed)."""
    query = update.callback_query
    if query is not None:
        message = query.message
        data = query.data
        if message is None or data is None or len(data.encode()) > MAX_CALLBACK_DATA:
            return None
        return ButtonPressed(
            channel=channel,
            conversation=str(message.chat.id),
            person=_person(query.from_user),
            at=now,
            data=data,
            message_id=str(message.message_id),
            answer_id=query.id,
        )
    message = update.message
    if message is None or message.text is None or message.from_user is None:
        return None
    if len(message.text) > MAX_TEXT:
        log.warning("an update with %d characters of text was ignored", len(message.text))
        return None
    return TextMessage(
        channel=channel,
        conversation=str(message.chat.id),
        person=_person(message.from_user),
        at=now,
        text=message.text,
        message_id=str(message.message_id),
    )


def parse_update(body: Any, telegram: TelegramBot) -> Update | None:
    """An `Update` from a webhook's JSON or None when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
        return None
    try:
        return Update.de_json(body, telegram.bot)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


class UpdatePoller:
    """getUpdates in a loop, the offset kept in the store, until told to stop."""

    def __init__(
        self,
        telegram: TelegramBot,
        store: TelegramStore,
        channel: str,
        clock: Callable[[], dt.datetime],
        route: Route | None = None,
    ) -> None:
        self.telegram = telegram
        self.store = store
        self.channel = channel
        self.clock = clock
        self.route = route

    async def run(self, dispatch: Dispatch, stop: asyncio.Event) -> None:
        # getUpdates and a webhook exclude each other: polling, none is left set.
        await self.telegram.delete_webhook()
        failures = 0
        while not stop.is_set():
            try:
                handled = await self.poll_once(dispatch, stop)
                failures = 0
                if not handled:
                    await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except (RetryAfter, Conflict, NetworkError, TimedOut, TelegramError) as exc:
                pause = POLL_PAUSES[min(failures, len(POLL_PAUSES) - 1)]
                if isinstance(exc, RetryAfter):
                    retry = exc.retry_after
                    pause = retry.total_seconds() if isinstance(retry, dt.timedelta) else retry
                failures += 1
                log.warning("getUpdates failed (%s); again in %g s", exc, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    async def poll_once(self, dispatch: Dispatch, stop: asyncio.Event | None = None) -> int:
        """One getUpdates: each update handed on, then its offset saved. Returns how many."""
        offset = await self.store.update_offset(self.telegram.id)
        stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
        polling = asyncio.ensure_future(self.telegram.get_updates(offset))
        try:
            waiting = {polling} if stopping is None else {polling, stopping}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopping is not None:
                stopping.cancel()
        if not polling.done():  # told to stop mid-poll: its updates are read next time
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await polling
            return 0
        updates = polling.result()
        for update_id, update in updates:
            if update is not None:
                await handle_update(update, self.channel, self.clock(), dispatch, self.route)
            # Saved after each one: a crash repeats at most the update being handled.
            await self.store.save_update_offset(self.telegram.id, update_id + 1)
        return len(updates)


async def handle_update(
    update: Update,
    channel: str,
    now: dt.datetime,
    dispatch: Dispatch,
    route: Route | None = None,
) -> None:
    event = event_of(update, channel, now)
    if event is None:
        log.debug("update %d carries nothing %s answers", update.update_id, channel)
        return
    if route is not None:  # one bot for two channels: whose this event is
        event = dataclasses.replace(event, channel=await route(event))
    await dispatch(event)


def webhook_app(
    telegram: TelegramBot,
    token: str,
    channel: str,
    dispatch: Dispatch,
    clock: Callable[[], dt.datetime],
    route: Route | None = None,
) -> web.Application:
    """The webhook's sub-application: POST / with Telegram's secret header, an update as JSON."""
    expected = secret_token(token).encode()

    @web.middleware
    async def check_secret(request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("a %s webhook request without the right secret was refused", channel)
            raise web.HTTPUnauthorized(text="wrong or missing secret token\n")
        response: web.StreamResponse = await handler(request)
        return response

    async def receive(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY, actual_size=request.content_length
            )
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="not JSON\n") from None
        update = parse_update(body, telegram)
        if update is None:
            # Answered 200 all the same: Telegram would only send it again and again.
            log.warning("a %s webhook request that is no update was ignored", channel)
            return web.Response(text="ignored\n")
        await handle_update(update, channel, clock(), dispatch, route)
        return web.Response(text="ok\n")

    app = web.Application(middlewares=[check_secret], client_max_size=MAX_BODY)
    app.router.add_post("/", receive)
    return app


def webhook_path(channel: str) -> str:
    """Where a channel's webhook sub-application is mounted on Unavoz's server."""
    return f"/telegram/{channel}"


def webhook_url(base: str, channel: str) -> str:
    """The URL Telegram is given: TELEGRAM_WEBHOOK_URL is the public address of `/telegram`."""
    return f"{base.rstrip('/')}/{channel}/"
