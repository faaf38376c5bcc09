"""One long-lived python-telegram-bot `Bot` per token: its lifecycle, and what its errors mean.

Every Telegram channel (staff alerts, the customer bot) talks to the Bot API through a
`TelegramBot`: requests go to `{TELEGRAM_API_URL}/bot{token}/{method}`, over aiohttp
(`aiohttp_request.py`: PTB's HTTP layer, one session per bot). It maps PTB's
exceptions to what the delivery engine does next (`delivery_error`), and keeps one pause
per bot: after a 429 with `retry_after`, nothing more is sent by that bot until it is over.

A failed send may still have gone out (Telegram has no idempotency key): a lost answer is
retried, at the small risk of a duplicate, but nothing is resent once recorded as sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

# PTB's own switch: without it PTB 22 warns (PTBDeprecationWarning) whenever it builds a
# RetryAfter, and `retry_after` is an int. Set once, before any PTB object is made; we read
# periods as timedeltas (`_seconds` accepts both).
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.delivery.model import (
    DeliveryError,
    PermanentError,
    RetryLater,
    TransientError,
)
from channels.telegram.aiohttp_request import AiohttpRequest

log = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"
# A chat that kicked the bot, or does not exist, is tried again this rarely (seconds): the
# target shows as failing, with the reason, and the engine does not spin on it.
UNREACHABLE_RETRY = 900.0
# A bot told to wait longer than this (seconds) hands its deliveries back to the engine
# with RetryLater; a shorter wait is waited out in place.
LONGEST_WAIT_IN_PLACE = 5.0
# A token Telegram rejected: its deliveries wait this long before being tried again.
REJECTED_RETRY = 3600.0

Buttons = Sequence[Sequence[tuple[str, str]]]  # rows of (label, callback data)
T = TypeVar("T")


class ChatUnreachable(RetryLater):
    """403 (the bot was removed, blocked) or 400 "chat not found": tried again rarely."""

    def __init__(self, reason: str) -> None:
        super().__init__(UNREACHABLE_RETRY, reason)
        self.reason = reason


class ChatMoved(DeliveryError):
    """The group became a supergroup: the same chat has a new id."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"the chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class NotModified(DeliveryError):
    """400 "message is not modified": the edit was already there; not an error."""


class TokenRejected(Exception):
    """Telegram answered 401/404 to getMe: the token is wrong or revoked."""


def bot_id(token: str) -> str:
    """The bot's numeric id, the part of its token before ":" (safe to log and to store)."""
    return token.split(":", 1)[0]


def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a Bot API error means to the delivery engine."""
    message = str(exc)
    lowered = message.lower()
    if isinstance(exc, RetryAfter):
        return RetryLater(_seconds(exc.retry_after), "Telegram flood control (429)")
    if isinstance(exc, ChatMigrated):
        return ChatMoved(exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return ChatUnreachable(f"Telegram 403: {message}")
    if isinstance(exc, BadRequest):  # (a NetworkError in PTB: tested before it)
        if "message is not modified" in lowered:
            return NotModified(message)
        if "chat not found" in lowered:
            return ChatUnreachable(f"Telegram 400: {message}")
        return PermanentError(f"Telegram 400: {message}")
    if isinstance(exc, InvalidToken | EndPointNotFound):
        return RetryLater(REJECTED_RETRY, "Telegram rejected the bot token (401/404)")
    if isinstance(exc, Conflict):
        return TransientError(f"Telegram 409: {message}")
    if isinstance(exc, NetworkError):  # 5xx, timeouts, resets
        return TransientError(f"{type(exc).__name__}: {message}")
    return TransientError(f"{type(exc).__name__}: {message}")


def keyboard(buttons: Buttons | None) -> dict[str, Any] | None:
    """Inline buttons as the Bot API's `InlineKeyboardMarkup` JSON (plain data: PTB's objects
    would only be turned back into it, for every message)."""
    if not buttons:
        return None
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in buttons
        ]
    }


class TelegramBot:
    """One bot token's client, with an explicit lifecycle (`start`, `stop`, `async with`)."""

    def __init__(
        self,
        token: str,
        api_url: str = TELEGRAM_API,
        *,
        timeout: float = 10.0,
        poll_timeout: float = 25.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = bot_id(token)
        self.api_url = api_url.rstrip("/")
        self.poll_timeout = poll_timeout
        self.timeout = timeout
        self.clock = clock
        self.bot = Bot(
            token,
            base_url=f"{self.api_url}/bot",
            # About the engine's concurrency (32), the long poll and a few edits.
            request=AiohttpRequest(
                connection_pool_size=40,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
            ),
            # (Only for PTB's own `get_updates`, which we do not call: `get_updates` below
            # goes through the pool above.)
            get_updates_request=AiohttpRequest(
                read_timeout=timeout, write_timeout=timeout, connect_timeout=timeout
            ),
        )
        self.rejected: str | None = None  # why Telegram refused this token, if it did
        self.username: str | None = None
        self._paused_until = 0.0  # clock(): a 429's retry_after, for the whole bot
        self._started = False

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client and ask getMe. A rejected token raises `TokenRejected`; Telegram
        out of reach is only logged (requests are tried as they come)."""
        if self._started:
            return
        self._started = True
        try:
            await self.bot.initialize()
            self.username = self.bot.username
        except (InvalidToken, EndPointNotFound):
            # (PTB's message repeats the token: never logged.)
            self.rejected = f"Telegram rejected the token of bot {self.id} (401/404 on getMe)"
            raise TokenRejected(self.rejected) from None
        except TelegramError as exc:
            log.warning("Telegram bot %s: getMe failed (%s); trying as messages come", self.id, exc)

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.bot.shutdown()

    async def __aenter__(self) -> TelegramBot:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # Calls, with Telegram's errors as the engine's -----------------------------------------

    async def _wait_turn(self) -> None:
        if self.rejected is not None:
            raise RetryLater(REJECTED_RETRY, self.rejected)
        wait = self._paused_until - self.clock()
        if wait <= 0:
            return
        if wait > LONGEST_WAIT_IN_PLACE:
            raise RetryLater(wait, "Telegram flood control (429) for this bot")
        await asyncio.sleep(wait)

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        """Run one Bot API request; raise the engine's errors (see `delivery_error`)."""
        await self._wait_turn()
        try:
            return await request()
        except TelegramError as exc:
            error = delivery_error(exc)
            if isinstance(error, RetryLater) and isinstance(exc, RetryAfter):
                self._paused_until = max(self._paused_until, self.clock() + error.after)
                log.warning("Telegram bot %s: flood control, waiting %g s", self.id, error.after)
            raise error from exc

    async def post(self, method: str, params: dict[str, Any]) -> Any:
        """Call the Bot API's `method` through the PTB `Bot` (its request, base URL, and its
        errors as the engine's) and answer Telegram's `result` as plain JSON.

        For the calls sent most (messages and edits): reading the answer into PTB objects
        (`Message.de_json`) cost more CPU than the HTTP request itself, to read one id.
        (`method` goes in lower case: Bot API methods are case-insensitive, and PTB's
        `do_api_request` warns when given a name PTB has a method of its own for.)
        """
        return await self.call(lambda: self.bot.do_api_request(method.lower(), api_kwargs=params))

    async def send_message(
        self, chat_id: int | str, text: str, buttons: Buttons | None = None
    ) -> int:
        """Send `text` (plain, no parse mode: people's words are never markup); its message id."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        markup = keyboard(buttons)
        if markup is not None:
            params["reply_markup"] = markup
        result = await self.post("sendMessage", params)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(message_id, int):
            # (It may have gone out: retried like a lost answer, at the same small risk.)
            raise TransientError(f"Telegram answered sendMessage without a message id: {result!r}")
        return message_id

    async def edit_message(
        self, chat_id: int | str, message_id: int, text: str, buttons: Buttons | None = None
    ) -> None:
        """Replace a message's text (and buttons); an edit already there is not an error."""
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
        markup = keyboard(buttons)
        if markup is not None:
            params["reply_markup"] = markup
        try:
            await self.post("editMessageText", params)
        except NotModified:
            return

    async def answer_callback(self, query_id: str, text: str | None = None) -> None:
        await self.call(lambda: self.bot.answer_callback_query(query_id, text=text))

    async def get_updates(self, offset: int | None) -> list[tuple[int, Update | None]]:
        """One long poll: (update id, the update or None when it cannot be read), in order.

        Read one by one, so a malformed update is skipped past rather than failing the
        whole batch again and again. (Bot API methods are case-insensitive: PTB's
        `do_api_request` with "getupdates" gives the raw JSON, without warning that
        `get_updates` exists.)
        """
        await self._wait_turn()
        kwargs: dict[str, object] = {
            "timeout": int(self.poll_timeout),
            "allowed_updates": ["message", "callback_query"],
        }
        if offset is not None:
            kwargs["offset"] = offset
        try:
            raw = await self.bot.do_api_request(
                "getupdates", api_kwargs=kwargs, read_timeout=self.poll_timeout + self.timeout
            )
        except RetryAfter as exc:
            self._paused_until = self.clock() + _seconds(exc.retry_after)
            raise
        found: list[tuple[int, Update | None]] = []
        for body in raw if isinstance(raw, list) else []:
            if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
                continue
            try:
                update: Update | None = Update.de_json(body, self.bot)
            except (KeyError, TypeError, ValueError, AttributeError):
                log.warning("update %d cannot be read; skipped", body["update_id"])
                update = None
            found.append((body["update_id"], update))
        return found

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call(
            lambda: self.bot.set_webhook(
                url, secret_token=secret_token, allowed_updates=["message", "callback_query"]
            )
        )

    async def delete_webhook(self) -> None:
        await self.call(lambda: self.bot.delete_webhook())


__all__ = [
    "Buttons",
    "ChatMoved",
    "ChatUnreachable",
    "NotModified",
    "TelegramBot",
    "TokenRejected",
    "bot_id",
    "delivery_error",
]
