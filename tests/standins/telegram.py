"""A stand-in Telegram Bot API server: the real wire format, every call recorded, faults on demand.

Requests arrive at `{url}/bot{token}/{method}`, as python-telegram-bot sends them with
`Bot(token, base_url=f"{url}/bot")` (form fields whose objects are JSON-encoded) and as
`curl` sends them (JSON bodies, query strings). Answers have Telegram's shape:
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": "...",
"parameters": {"retry_after": N} | {"migrate_to_chat_id": N}}`.

What it keeps, so tests can look: the calls (token, method, parsed parameters, time,
status), the messages each bot has in each chat (edits apply), the pending updates per bot,
the webhook, the callback queries and whether they were answered, and when each message
was sent, to check Telegram's flood limits (1 message a second in a private chat, 20 a
minute in a group, 30 a second per bot) — or, with `enforce_limits`, to answer 429 like
Telegram when they are exceeded.

What tests do to it: queue a person's text, a command or a button press (`queue_message`,
`queue_command`, `press_button`), deliver pending updates to the webhook
(`deliver_webhook`), make a chat kick the bot or migrate (`kick`, `migrate`), and plan
faults per call (`faults=when(retry_after(3), method="sendMessage")`): 429, 5xx, resets,
lost answers, slow answers, 403, 400.

Run it for a person: `python -m tests.standins.telegram --port 8081 --token 123:ABC`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal, NamedTuple

import aiohttp
from aiohttp import web

DEFAULT_TOKEN = "123456:standin-token"
TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
SECRET_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

MESSAGE_MAX_LENGTH = 4096
CALLBACK_DATA_MAX_BYTES = 64
CALLBACK_ANSWER_MAX_LENGTH = 200


class Limit(NamedTuple):
    """At most `messages` messages in any window of `seconds`."""

    messages: int
    seconds: float


PRIVATE_CHAT_LIMIT = Limit(1, 1.0)
GROUP_CHAT_LIMIT = Limit(20, 60.0)
BOT_LIMIT = Limit(30, 1.0)

# Parameters Telegram reads as JSON objects, integers or booleans; every other one is a string.
_JSON_PARAMS = frozenset(
    ["reply_markup", "entities", "link_preview_options", "reply_parameters", "allowed_updates"]
)
_INT_PARAMS = frozenset(
    [
        "message_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "user_id",
    ]
)
_BOOL_PARAMS = frozenset(
    [
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
    ]
)


# Faults ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What the stand-in does to a call instead of answering it normally.

    `error` answers `status` with `description` (and `parameters`) and changes nothing;
    `reset` closes the connection before doing anything; `lost` does the call and then
    closes the connection, so the client never learns it worked; `slow` does the call and
    answers after `seconds`. `html` answers an error as a proxy's HTML page (Telegram's
    own 502s look like that) instead of JSON.
    """

    action: Literal["error", "reset", "lost", "slow"]
    status: int = 0
    description: str = ""
    parameters: dict[str, int] | None = None
    seconds: float = 0.0
    html: bool = False


def retry_after(seconds: int) -> Fault:
    return Fault(
        "error", 429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
    )


def server_error(status: int = 500, *, html: bool = False) -> Fault:
    descriptions = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return Fault("error", status, descriptions.get(status, "Server Error"), html=html)


def reset() -> Fault:
    return Fault("reset")


def lost() -> Fault:
    return Fault("lost")


def slow(seconds: float) -> Fault:
    return Fault("slow", seconds=seconds)


def kicked() -> Fault:
    return Fault("error", 403, "Forbidden: bot was kicked from the group chat")


def blocked() -> Fault:
    return Fault("error", 403, "Forbidden: bot was blocked by the user")


def chat_not_found() -> Fault:
    return Fault("error", 400, "Bad Request: chat not found")


def migrated(new_chat_id: int) -> Fault:
    return Fault(
        "error",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": new_chat_id},
    )


def bad_request(description: str) -> Fault:
    return Fault("error", 400, f"Bad Request: {description}")


@dataclass
class Call:
    """One request as the stand-in understood it."""

    number: int  # 1-based, over every call the stand-in received
    token: str
    method: str  # as spelled in the URL
    params: dict[str, Any]
    at: float  # time.monotonic()
    status: int = 0  # the HTTP status answered; 0 while pending or when the connection was cut

    @property
    def chat_id(self) -> int | str | None:
        chat_id = self.params.get("chat_id")
        return chat_id if isinstance(chat_id, int | str) else None

    def is_(self, method: str) -> bool:
        return self.method.lower() == method.lower()


FaultPlan = Callable[[Call], Fault | None]


def no_faults(call: Call) -> Fault | None:
    return None


def when(
    fault: Fault,
    *,
    method: str | None = None,
    chat_id: int | str | None = None,
    numbers: Collection[int] | None = None,
    times: int | None = None,
) -> FaultPlan:
    """A plan that answers `fault` to the calls matching every filter given, `times` times."""
    fired = 0

    def plan(call: Call) -> Fault | None:
        nonlocal fired
        if method is not None and not call.is_(method):
            return None
        if chat_id is not None and call.chat_id != chat_id:
            return None
        if numbers is not None and call.number not in numbers:
            return None
        if times is not None and fired >= times:
            return None
        fired += 1
        return fault

    return plan


class ApiError(Exception):
    """An answer with `ok: false`, raised by a method's handler."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, int] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    @classmethod
    def of(cls, fault: Fault) -> ApiError:
        return cls(fault.status, fault.description, fault.parameters)


# Objects -----------------------------------------------------------------------------------


def person(
    user_id: int = 424242,
    first_name: str = "Ana",
    *,
    language_code: str | None = "es",
    username: str | None = None,
    last_name: str | None = None,
) -> dict[str, Any]:
    """A Telegram User who is a person."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name is not None:
        user["last_name"] = last_name
    if username is not None:
        user["username"] = username
    if language_code is not None:
        user["language_code"] = language_code
    return user


def chat_type_of(chat_id: int) -> str:
    """What Telegram's ids say: people are positive, supergroups -100 and 10 digits, groups
    other negatives."""
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


@dataclass
class Sent:
    at: float  # time.monotonic()
    chat_id: int


@dataclass
class _Poll:
    """One pending getUpdates: woken by a new update, or terminated by another getUpdates."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    terminated: bool = False


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotState:
    """What the stand-in keeps for one bot (one token)."""

    token: str
    user: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    webhook: Webhook | None = None
    poll: _Poll | None = None
    polling: asyncio.Event = field(default_factory=asyncio.Event)  # set while a poll is pending
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    last_message_id: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    callback_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    answered_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    deliveries: list[tuple[int, int]] = field(default_factory=list)  # (update_id, status)

    def next_message_id(self, chat_id: int) -> int:
        self.last_message_id[chat_id] += 1
        return self.last_message_id[chat_id]


# The server --------------------------------------------------------------------------------

Handler = Callable[[BotState, dict[str, Any]], Awaitable[Any]]


@dataclass
class TelegramStandIn:
    tokens: Collection[str] = (DEFAULT_TOKEN,)
    faults: FaultPlan = no_faults
    enforce_limits: bool = False  # answer 429 like Telegram when a flood limit is exceeded
    strict_chats: bool = False  # sending to a chat nobody introduced answers "chat not found"
    long_poll_cap: float | None = 1.0  # tests wait at most this long in getUpdates; None: honour
    clock: Callable[[], float] = time.time  # what messages' `date` says
    host: str = "127.0.0.1"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    bots: dict[str, BotState] = field(default_factory=dict)
    _gone: dict[int, Fault] = field(default_factory=dict)  # chats that kicked the bot, migrated
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        for token in self.tokens:
            bot_id = int(token.split(":", 1)[0])
            user = {
                "id": bot_id,
                "is_bot": True,
                "first_name": "Unavoz (stand-in)",
                "username": f"standin_{bot_id}_bot",
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
            self.bots[token] = BotState(token, user)
        self._methods: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }

    # Lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What TELEGRAM_API_URL is set to."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What python-telegram-bot's `base_url` is set to."""
        return f"{self.url}/bot"

    async def start(self) -> TelegramStandIn:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.add_subapp("/_standin/", self._demo_app())
        # A client that gives up on a long poll closes the connection: the handler stops too.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> TelegramStandIn:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # The Bot API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token, method = request.match_info["token"], request.match_info["method"]
        raw = await _read_params(request)
        call = Call(len(self.calls) + 1, token, method, raw, time.monotonic())
        self.calls.append(call)
        try:
            call.params = _coerce(raw)
            bot = self._bot(token)
            fault = self.faults(call)
            if fault is not None and fault.action == "reset":
                _cut(request)
            if fault is not None and fault.action == "error":
                if fault.html:
                    call.status = fault.status
                    return _html_error(fault.status, fault.description)
                raise ApiError.of(fault)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(bot, call.params)
        except ApiError as error:
            call.status = error.status
            return _error(error)
        if fault is not None and fault.action == "lost":
            _cut(request)
        if fault is not None and fault.action == "slow":
            await asyncio.sleep(fault.seconds)
        call.status = 200
        return web.json_response({"ok": True, "result": result})

    def _bot(self, token: str) -> BotState:
        if not TOKEN_SHAPE.fullmatch(token):
            raise ApiError(404, "Not Found")
        if token not in self.bots:
            raise ApiError(401, "Unauthorized")
        return self.bots[token]

    async def _get_me(self, bot: BotState, params: dict[str, Any]) -> Any:
        return bot.user

    async def _get_updates(self, bot: BotState, params: dict[str, Any]) -> Any:
        if bot.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        # Like Telegram, a new getUpdates ends the one pending: that one answers 409.
        if bot.poll is not None:
            bot.poll.terminated = True
            bot.poll.wake.set()
        _confirm(bot, params.get("offset"))
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = max(params.get("timeout", 0), 0)
        if not bot.updates and timeout:
            wait = timeout if self.long_poll_cap is None else min(timeout, self.long_poll_cap)
            poll = bot.poll = _Poll()
            bot.polling.set()
            try:
                async with asyncio.timeout(wait):
                    await poll.wake.wait()
            except TimeoutError:
                pass
            finally:
                if bot.poll is poll:
                    bot.poll = None
                    bot.polling.clear()
            if poll.terminated:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
        return bot.updates[:limit]

    async def _send_message(self, bot: BotState, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        text = params.get("text", "")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MESSAGE_MAX_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        _check_parse_mode(text, params.get("parse_mode"))
        markup = _inline_markup(params.get("reply_markup"))
        self._check_flood(bot, chat)
        message: dict[str, Any] = {
            "message_id": bot.next_message_id(chat["id"]),
            "from": bot.user,
            "chat": chat,
            "date": int(self.clock()),
            "text": text,
        }
        if isinstance(params.get("entities"), list):
            message["entities"] = params["entities"]
        if markup is not None:
            message["reply_markup"] = markup
        replied = (params.get("reply_parameters") or {}).get("message_id")
        if isinstance(replied, int) and (chat["id"], replied) in bot.messages:
            message["reply_to_message"] = bot.messages[(chat["id"], replied)]
        bot.messages[(chat["id"], message["message_id"])] = message
        bot.sent.append(Sent(time.monotonic(), chat["id"]))
        return message

    async def _edit_message_text(self, bot: BotState, params: dict[str, Any]) -> Any:
        message = self._message_to_edit(bot, params)
        text = params.get("text", "")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MESSAGE_MAX_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        _check_parse_mode(text, params.get("parse_mode"))
        markup = _inline_markup(params.get("reply_markup"))
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["text"] = text
        _set_markup(message, markup)
        message["edit_date"] = int(self.clock())
        return message

    async def _edit_message_reply_markup(self, bot: BotState, params: dict[str, Any]) -> Any:
        message = self._message_to_edit(bot, params)
        markup = _inline_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        _set_markup(message, markup)
        message["edit_date"] = int(self.clock())
        return message

    async def _answer_callback_query(self, bot: BotState, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in bot.callback_queries or query_id in bot.answered_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(params.get("text") or "") > CALLBACK_ANSWER_MAX_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        bot.answered_queries[query_id] = params
        return True

    async def _set_webhook(self, bot: BotState, params: dict[str, Any]) -> Any:
        url = params.get("url", "")
        if not url:
            return await self._delete_webhook(bot, params)
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN_SHAPE.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        bot.webhook = Webhook(
            url, secret, params.get("max_connections", 40), params.get("allowed_updates")
        )
        return True

    async def _delete_webhook(self, bot: BotState, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        bot.webhook = None
        return True

    async def _get_webhook_info(self, bot: BotState, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if bot.webhook is not None:
            info["url"] = bot.webhook.url
            info["max_connections"] = bot.webhook.max_connections
            if bot.webhook.allowed_updates is not None:
                info["allowed_updates"] = bot.webhook.allowed_updates
            if bot.webhook.last_error_date is not None:
                info["last_error_date"] = bot.webhook.last_error_date
                info["last_error_message"] = bot.webhook.last_error_message
        return info

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._gone:
            raise ApiError.of(self._gone[chat_id])
        if chat_id not in self.chats:
            if self.strict_chats:
                raise ApiError(400, "Bad Request: chat not found")
            self.add_chat(chat_id)
        return self.chats[chat_id]

    def _message_to_edit(self, bot: BotState, params: dict[str, Any]) -> dict[str, Any]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message = bot.messages.get((chat["id"], params.get("message_id", 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != bot.user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _check_flood(self, bot: BotState, chat: dict[str, Any]) -> None:
        if not self.enforce_limits:
            return
        now = time.monotonic()
        limit = PRIVATE_CHAT_LIMIT if chat["type"] == "private" else GROUP_CHAT_LIMIT
        in_chat = [sent.at for sent in bot.sent if sent.chat_id == chat["id"]]
        wait = max(
            _wait_for(in_chat, limit, now), _wait_for([s.at for s in bot.sent], BOT_LIMIT, now)
        )
        if wait > 0:
            seconds = max(1, int(-(-wait // 1)))  # Telegram says whole seconds, rounded up
            raise ApiError.of(retry_after(seconds))

    # What tests do -------------------------------------------------------------------------

    def bot(self, token: str | None = None) -> BotState:
        """A bot's state; without a token, the first bot's."""
        return self.bots[token] if token is not None else next(iter(self.bots.values()))

    def add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        user: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Introduce a chat; a private chat takes its names from the person."""
        kind = chat_type or chat_type_of(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            user = user or person(chat_id)
            chat["first_name"] = user["first_name"]
            if "username" in user:
                chat["username"] = user["username"]
        else:
            chat["title"] = title or f"Group {chat_id}"
        self.chats[chat_id] = chat
        return chat

    def queue_update(self, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        """Queue an update (`{"message": ...}`, `{"callback_query": ...}`) for getUpdates."""
        bot = self.bot(token)
        update = {"update_id": bot.next_update_id, **body}
        bot.next_update_id += 1
        bot.updates.append(update)
        if bot.poll is not None:
            bot.poll.wake.set()
        return update

    def queue_message(
        self,
        chat_id: int,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """A person writes `text` in a chat (a command when it starts with '/')."""
        kind = chat_type or (self.chats[chat_id]["type"] if chat_id in self.chats else None)
        kind = kind or chat_type_of(chat_id)
        if user is None:
            user = person(chat_id) if kind == "private" else person()
        chat = self.chats.get(chat_id) or self.add_chat(chat_id, kind, title=title, user=user)
        bot = self.bot(token)
        message: dict[str, Any] = {
            "message_id": bot.next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(self.clock()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_length(command)}
            ]
        bot.messages[(chat_id, message["message_id"])] = message
        return self.queue_update({"message": message}, token)

    def queue_command(
        self,
        chat_id: int,
        command: str,
        args: str = "",
        *,
        mention: bool = False,
        user: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """A person sends `/command args` (`/command@bot args` with `mention`, as in groups)."""
        name = command.lstrip("/")
        if mention:
            name += "@" + self.bot(token).user["username"]
        text = f"/{name} {args}".rstrip()
        return self.queue_message(chat_id, text, user=user, token=token)

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        data: str | None = None,
        *,
        text: str | None = None,
        user: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """A person presses a button (by its callback data or its text) of a bot's message."""
        bot = self.bot(token)
        message = bot.messages.get((chat_id, message_id))
        if message is None or message.get("from", {}).get("id") != bot.user["id"]:
            raise LookupError(f"the bot sent no message {message_id} in chat {chat_id}")
        buttons = [
            button
            for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        ]
        pressed = [b for b in buttons if data in (None, b["callback_data"])]
        pressed = [b for b in pressed if text in (None, b["text"])]
        if not pressed:
            raise LookupError(f"message {message_id} has no button {data or text!r}")
        if user is None:
            kind = self.chats[chat_id]["type"]
            user = person(chat_id) if kind == "private" else person()
        query_id = str(len(bot.callback_queries) + 1000001)
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919),
            "data": pressed[0]["callback_data"],
        }
        bot.callback_queries[query_id] = query
        return self.queue_update({"callback_query": query}, token)

    async def deliver_webhook(self, token: str | None = None) -> list[int]:
        """POST the pending updates, in order, to the webhook; stop at the first failure.

        Returns the statuses answered (0 when the connection failed); delivered updates
        leave the queue, and a failure shows in getWebhookInfo as Telegram shows it.
        """
        bot = self.bot(token)
        if bot.webhook is None:
            raise RuntimeError("no webhook is set")
        assert self._session is not None
        webhook, statuses = bot.webhook, []
        headers = {SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        while bot.updates:
            update = bot.updates[0]
            try:
                async with self._session.post(webhook.url, json=update, headers=headers) as answer:
                    status, reason = answer.status, answer.reason
            except aiohttp.ClientError as error:
                status, reason = 0, f"Connection failed: {error}"
            statuses.append(status)
            bot.deliveries.append((update["update_id"], status))
            if not 200 <= status < 300:
                webhook.last_error_date = int(self.clock())
                webhook.last_error_message = (
                    f"Wrong response from the webhook: {status} {reason}" if status else reason
                )
                break
            bot.updates.pop(0)
        return statuses

    async def wait_for_poller(self, token: str | None = None, within: float = 2.0) -> None:
        """Until a getUpdates long poll is pending for the bot."""
        async with asyncio.timeout(within):
            await self.bot(token).polling.wait()

    def kick(self, chat_id: int) -> None:
        """From now on the chat refuses the bot (kicked from a group, blocked by a person)."""
        self._gone[chat_id] = blocked() if chat_type_of(chat_id) == "private" else kicked()

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: the old id answers with `migrate_to_chat_id`."""
        old = self.chats.get(chat_id) or self.add_chat(chat_id, "group")
        self.add_chat(new_chat_id, "supergroup", title=old.get("title"))
        self._gone[chat_id] = migrated(new_chat_id)

    # What tests ask ------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.is_(method)]

    def messages(self, chat_id: int, token: str | None = None) -> list[dict[str, Any]]:
        """The bot's messages in a chat, oldest first, as they are now (after edits)."""
        bot = self.bot(token)
        mine = [
            message
            for (chat, _), message in bot.messages.items()
            if chat == chat_id and message.get("from", {}).get("id") == bot.user["id"]
        ]
        return sorted(mine, key=lambda message: message["message_id"])

    def most_in_window(
        self, seconds: float, *, chat_id: int | None = None, token: str | None = None
    ) -> int:
        """The most messages the bot sent (to one chat, or to all) in any window of `seconds`."""
        sent = self.bot(token).sent
        return _most_in_window([s.at for s in sent if chat_id in (None, s.chat_id)], seconds)

    def limit_violations(self, token: str | None = None) -> list[str]:
        """Every flood limit of Telegram's the bot went over, in words; empty when none."""
        bot = self.bot(token)
        found = []
        for chat_id in sorted({sent.chat_id for sent in bot.sent}):
            kind = self.chats[chat_id]["type"] if chat_id in self.chats else "private"
            limit = PRIVATE_CHAT_LIMIT if kind == "private" else GROUP_CHAT_LIMIT
            most = self.most_in_window(limit.seconds, chat_id=chat_id, token=token)
            if most > limit.messages:
                found.append(
                    f"chat {chat_id} ({kind}): {most} messages within {limit.seconds:g} s, "
                    f"limit {limit.messages}"
                )
        most = self.most_in_window(BOT_LIMIT.seconds, token=token)
        if most > BOT_LIMIT.messages:
            found.append(
                f"bot: {most} messages within {BOT_LIMIT.seconds:g} s, limit {BOT_LIMIT.messages}"
            )
        return found

    # For a person trying a channel ---------------------------------------------------------

    def _demo_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/updates", self._demo_message)
        app.router.add_post("/press", self._demo_press)
        app.router.add_get("/calls", self._demo_calls)
        app.router.add_get("/messages", self._demo_messages)
        return app

    async def _demo_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat_id, user = int(body["chat_id"]), None
        if body.get("from") is not None:  # a private chat's id is its person's id
            user = {**person(chat_id if chat_id > 0 else 424242), **body["from"]}
        update = self.queue_message(
            chat_id,
            str(body["text"]),
            user=user,
            chat_type=body.get("chat_type"),
            title=body.get("title"),
            token=body.get("token"),
        )
        return await self._demo_delivered(update, body.get("token"))

    async def _demo_press(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat_id, user = int(body["chat_id"]), None
        if body.get("from") is not None:  # as for messages: who pressed, over the default
            user = {**person(chat_id if chat_id > 0 else 424242), **body["from"]}
        try:
            update = self.press_button(
                chat_id,
                int(body["message_id"]),
                body.get("data"),
                text=body.get("text"),
                user=user,
                token=body.get("token"),
            )
        except LookupError as error:
            return web.json_response({"error": str(error)}, status=404)
        return await self._demo_delivered(update, body.get("token"))

    async def _demo_delivered(self, update: dict[str, Any], token: str | None) -> web.Response:
        if self.bot(token).webhook is not None:
            statuses = await self.deliver_webhook(token)
            return web.json_response({"update": update, "webhook_statuses": statuses})
        return web.json_response({"update": update, "queued_for": "getUpdates"})

    async def _demo_calls(self, request: web.Request) -> web.Response:
        calls = [
            {
                "number": call.number,
                "token": call.token,
                "method": call.method,
                "params": call.params,
                "status": call.status,
            }
            for call in self.calls
        ]
        return web.json_response(calls)

    async def _demo_messages(self, request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id")
        token = request.query.get("token")
        chats = [int(chat_id)] if chat_id else sorted(self.chats)
        return web.json_response({str(chat): self.messages(chat, token) for chat in chats})


# Wire helpers ------------------------------------------------------------------------------


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            for name, value in form.items():
                params[name] = value if isinstance(value, str) else "<a file>"
    return params


def _coerce(raw: dict[str, Any]) -> dict[str, Any]:
    """Parameters typed the way Telegram reads them; a value it cannot read is a 400."""
    params = {}
    for name, value in raw.items():
        try:
            params[name] = _coerce_one(name, value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name}") from None
    return params


def _coerce_one(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name == "chat_id":
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    if name in _JSON_PARAMS:
        return json.loads(value)
    if name in _INT_PARAMS:
        return int(value)
    if name in _BOOL_PARAMS:
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(value)
        return value.lower() in ("true", "1")
    return value


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """The inline keyboard a message will show (reply keyboards are not part of the message)."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            if not button.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    if not any(markup["inline_keyboard"]):
        return None
    return {"inline_keyboard": markup["inline_keyboard"]}


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup


def _confirm(bot: BotState, offset: Any) -> None:
    """getUpdates' offset: drop what is confirmed; a negative offset keeps the last -offset."""
    if not isinstance(offset, int) or offset == 0:
        return
    if offset < 0:
        del bot.updates[: max(len(bot.updates) + offset, 0)]
    else:
        bot.updates[:] = [u for u in bot.updates if u["update_id"] >= offset]


_ALLOWED_HTML = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    ]
)


class _TelegramHtml(HTMLParser):
    """Reads parse_mode=HTML text the way Telegram does, enough to refuse what it refuses."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text = text
        self.open: list[str] = []
        self.error: str | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self.text.split("\n")
        chars = sum(len(before) + 1 for before in lines[: line - 1]) + column
        return len(self.text[:chars].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error is None and tag not in _ALLOWED_HTML:
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._offset()}'
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error is None:
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._offset()}'

    def handle_endtag(self, tag: str) -> None:
        if self.error is not None:
            return
        if not self.open or self.open[-1] != tag:
            expected = f'expected "</{self.open[-1]}>", ' if self.open else ""
            self.error = (
                f'Unmatched end tag at byte offset {self._offset()}, {expected}found "</{tag}>"'
            )
            return
        self.open.pop()


def _check_parse_mode(text: str, parse_mode: Any) -> None:
    if not isinstance(parse_mode, str) or parse_mode.lower() != "html":
        return
    parser = _TelegramHtml(text)
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.open:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"'
    if parser.error is not None:
        raise ApiError(400, f"Bad Request: can't parse entities: {parser.error}")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _most_in_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def _wait_for(times: list[float], limit: Limit, now: float) -> float:
    """How long until one more message fits in `limit`; 0 when it fits now."""
    recent = sorted(at for at in times if now - at < limit.seconds)
    if len(recent) < limit.messages:
        return 0.0
    return recent[len(recent) - limit.messages] + limit.seconds - now


def _error(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)


def _html_error(status: int, reason: str) -> web.Response:
    page = f"<html><head><title>{status} {reason}</title></head><body>{reason}</body></html>"
    return web.Response(status=status, text=page, content_type="text/html")


def _cut(request: web.Request) -> None:
    """Close the connection without an answer, the way a crash or a proxy would."""
    assert request.transport is not None
    request.transport.abort()
    raise asyncio.CancelledError


# Run it for a person -----------------------------------------------------------------------


def main() -> None:  # pragma: no cover - a foreground server for demos
    parser = argparse.ArgumentParser(
        prog="python -m tests.standins.telegram",
        description="A stand-in Telegram Bot API server for trying Unavoz without an account.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--token", action="append", help=f"a bot token it accepts (repeatable; {DEFAULT_TOKEN})"
    )
    parser.add_argument("--enforce-limits", action="store_true", help="429 on flood, like Telegram")
    args = parser.parse_args()
    tokens = args.token or [DEFAULT_TOKEN]

    async def serve() -> None:
        standin = TelegramStandIn(
            tokens=tokens,
            host=args.host,
            port=args.port,
            long_poll_cap=None,
            enforce_limits=args.enforce_limits,
        )
        await standin.start()
        print(_demo_help(standin, tokens), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await standin.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def _demo_help(standin: TelegramStandIn, tokens: list[str]) -> str:  # pragma: no cover
    url = standin.url
    return f"""\
Telegram stand-in listening on {url} (Bot API at {url}/bot<token>/<method>)

Point Unavoz at it:
  export TELEGRAM_API_URL={url}
  export TELEGRAM_STAFF_TOKEN={tokens[0]}
  export TELEGRAM_CUSTOMER_TOKEN={tokens[-1]}
Bot tokens it accepts: {", ".join(tokens)}

A customer writes to the bot (private chat 424242; a group is a negative id):
  curl -s {url}/_standin/updates -H 'Content-Type: application/json' \\
    -d '{{"chat_id": 424242, "text": "/start", "from": {{"language_code": "es"}}}}'
Someone presses a button of a message the bot sent:
  curl -s {url}/_standin/press -H 'Content-Type: application/json' \\
    -d '{{"chat_id": -1001, "message_id": 1, "data": "ack"}}'
What the bot did:  curl -s {url}/_standin/calls    curl -s '{url}/_standin/messages?chat_id=424242'
(With several tokens, add "token": "..." to the bodies and ?token=... to the queries.)
Ctrl+C stops it."""


if __name__ == "__main__":  # pragma: no cover
    main()
