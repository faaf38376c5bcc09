"""PTB's HTTP layer on aiohttp, on the wire: against a small local server that answers what
a test asks (slow, cut, error bodies), through PTB's own `BaseRequest.post`, so what reaches
the `Bot` is what PTB's HTTPXRequest would have given: TimedOut, NetworkError, RetryAfter..."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter  # (how Bot builds them)

from bot.delivery.model import TransientError
from channels.telegram.aiohttp_request import AiohttpRequest, client_timeout
from channels.telegram.bot_api import TelegramBot
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn

GROUP = -1_001_234_567_890


@dataclass
class Seen:
    """What the server saw of one request."""

    path: str
    content_type: str
    user_agent: str
    body: dict[str, Any]
    peer: int  # the client's port: one per connection


@dataclass
class Server:
    url: str
    seen: list[Seen] = field(default_factory=list)
    hanging: asyncio.Event = field(default_factory=asyncio.Event)  # /hang has a request
    release: asyncio.Event = field(default_factory=asyncio.Event)  # lets /hang answer


def ok(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def fail(status: int, description: str, **parameters: int) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    found = Server("")

    async def record(request: web.Request) -> Seen:
        if request.content_type.startswith("multipart/"):
            body: dict[str, Any] = {}
            async for part in await request.multipart():
                content = await part.read()  # type: ignore[union-attr]
                filename = part.filename  # type: ignore[union-attr]
                text = content.decode()
                body[part.name or ""] = {"file": filename, "content": text} if filename else text
        else:
            body = await request.json() if request.can_read_body else {}
        assert request.transport is not None
        seen = Seen(
            request.path,
            request.content_type,
            request.headers.get("User-Agent", ""),
            body,
            request.transport.get_extra_info("peername")[1],
        )
        found.seen.append(seen)
        return seen

    async def echo(request: web.Request) -> web.Response:
        seen = await record(request)
        return ok({"message_id": len(found.seen), "echo": seen.body})

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        await asyncio.sleep(float(request.query["seconds"]))
        return ok(True)

    async def hang(request: web.Request) -> web.Response:
        await record(request)
        found.hanging.set()
        await found.release.wait()
        return ok(True)

    async def cut(request: web.Request) -> web.Response:
        await record(request)
        assert request.transport is not None
        request.transport.abort()  # no answer at all, as a reset connection gives
        raise asyncio.CancelledError

    async def answer(request: web.Request) -> web.Response:
        await record(request)
        kind = request.match_info["kind"]
        if kind == "flood":
            return fail(429, "Too Many Requests: retry after 7", retry_after=7)
        if kind == "migrated":
            return fail(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1009)
        if kind == "kicked":
            return fail(403, "Forbidden: bot was kicked from the group chat")
        if kind == "bad":
            return fail(400, "Bad Request: message text is empty")
        if kind == "unauthorized":
            return fail(401, "Unauthorized")
        if kind == "proxy":
            page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            return web.Response(status=502, text=page, content_type="text/html")
        if kind == "garbled":
            return web.Response(status=200, text="{not json", content_type="application/json")
        raise AssertionError(kind)

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/slow", slow)
    app.router.add_post("/hang", hang)
    app.router.add_post("/cut", cut)
    app.router.add_post("/answer/{kind}", answer)
    async with TestServer(app) as running:
        found.url = str(running.make_url("")).rstrip("/")
        try:
            yield found
        finally:
            found.release.set()


@pytest.fixture
async def request_() -> AsyncIterator[AiohttpRequest]:
    async with AiohttpRequest(
        connection_pool_size=2, read_timeout=0.3, connect_timeout=0.3, pool_timeout=0.2
    ) as made:
        yield made


def data(**params: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


KEYBOARD = {"inline_keyboard": [[{"text": "Recibido", "callback_data": "ack:i1:3"}]]}


async def test_parameters_go_as_json_with_ptbs_user_agent(
    server: Server, request_: AiohttpRequest
) -> None:
    params = data(chat_id=-1001, text="Sin agua · ñ", reply_markup=KEYBOARD, timeout=5)
    result = await request_.post(f"{server.url}/echo", params)
    [seen] = server.seen
    assert seen.content_type == "application/json"
    assert seen.user_agent == BaseRequest.USER_AGENT
    # Objects stay objects and numbers numbers: Telegram's JSON, not form fields.
    assert seen.body == {
        "chat_id": -1001,
        "text": "Sin agua · ñ",
        "reply_markup": KEYBOARD,
        "timeout": 5,
    }
    assert isinstance(result, dict) and result["message_id"] == 1


async def test_files_go_as_multipart_form_data(server: Server, request_: AiohttpRequest) -> None:
    upload = InputFile(b"line 1\n", filename="notes.txt")
    params = data(chat_id=-1001, document=upload, reply_markup=KEYBOARD)
    await request_.post(f"{server.url}/echo", params)
    [seen] = server.seen
    assert seen.content_type == "multipart/form-data"
    assert seen.body["chat_id"] == "-1001"
    assert json.loads(seen.body["reply_markup"]) == KEYBOARD  # form fields hold JSON text
    assert seen.body["document"] == {"file": "notes.txt", "content": "line 1\n"}


async def test_connections_are_kept_alive_and_pooled(
    server: Server, request_: AiohttpRequest
) -> None:
    for _ in range(3):  # one after another: the same connection
        await request_.post(f"{server.url}/echo", data(text="x"))
    assert len({seen.peer for seen in server.seen}) == 1
    # Ten at once over a pool of two: two connections, each request answered.
    answers = await asyncio.gather(
        *(request_.post(f"{server.url}/echo", data(text=str(n))) for n in range(10))
    )
    assert len(answers) == 10
    assert len({seen.peer for seen in server.seen[3:]}) == 2


async def test_a_slow_answer_times_out_as_ptbs_timed_out(
    server: Server, request_: AiohttpRequest
) -> None:
    with pytest.raises(TimedOut):
        await request_.post(f"{server.url}/slow?seconds=2", data(text="x"))
    # A call's own read timeout (getUpdates' long poll) is honoured over the default.
    assert await request_.post(f"{server.url}/slow?seconds=0.5", read_timeout=2.0) is True


async def test_waiting_for_a_free_connection_times_out_without_sending(server: Server) -> None:
    async with AiohttpRequest(connection_pool_size=1, read_timeout=5.0, pool_timeout=0.1) as one:
        held = asyncio.create_task(one.post(f"{server.url}/hang"))
        await server.hanging.wait()  # the only connection is busy
        with pytest.raises(TimedOut):
            await one.post(f"{server.url}/echo", data(text="waits"), connect_timeout=0.1)
        assert [seen.path for seen in server.seen] == ["/hang"]  # never sent
        server.release.set()
        assert await held is True


async def test_a_reset_connection_is_a_network_error_and_the_next_call_works(
    server: Server, request_: AiohttpRequest
) -> None:
    with pytest.raises(NetworkError, match=r"aiohttp\.") as caught:
        await request_.post(f"{server.url}/cut", data(text="x"))
    assert not isinstance(caught.value, TimedOut)  # retried with backoff, not as a timeout
    result = await request_.post(f"{server.url}/echo", data(text="again"))
    assert isinstance(result, dict) and result["echo"] == {"text": "again"}


async def test_nobody_listening_is_a_network_error(request_: AiohttpRequest) -> None:
    server = TestServer(web.Application())
    await server.start_server()
    url = str(server.make_url("/echo"))
    await server.close()  # the port is free again: the connection is refused
    with pytest.raises(NetworkError, match=r"aiohttp\.Client"):
        await request_.post(url, data(text="x"))


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("kicked", Forbidden, "[Kk]icked from the group"),
        ("bad", BadRequest, "Message text is empty"),
        ("unauthorized", InvalidToken, "Unauthorized"),
        ("proxy", NetworkError, r"Bad Gateway \(502\)"),
        ("garbled", TelegramError, "Invalid server response"),
    ],
)
async def test_error_bodies_are_read_into_ptbs_errors(
    server: Server, request_: AiohttpRequest, kind: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        await request_.post(f"{server.url}/answer/{kind}", data(text="x"))


async def test_retry_after_and_migration_keep_their_parameters(
    server: Server, request_: AiohttpRequest
) -> None:
    with pytest.raises(RetryAfter) as flood:
        await request_.post(f"{server.url}/answer/flood", data(text="x"))
    assert flood.value.retry_after.total_seconds() == 7  # type: ignore[union-attr]
    with pytest.raises(ChatMigrated) as moved:
        await request_.post(f"{server.url}/answer/migrated", data(text="x"))
    assert moved.value.new_chat_id == -1009


async def test_its_lifecycle(server: Server) -> None:
    made = AiohttpRequest()
    assert made.read_timeout == 5.0
    with pytest.raises(NetworkError, match="not initialized"):
        await made.post(f"{server.url}/echo")
    await made.initialize()
    await made.initialize()  # again: the same session
    assert await made.post(f"{server.url}/echo") == {"message_id": 1, "echo": {}}
    await made.shutdown()
    await made.shutdown()  # again: nothing to close
    with pytest.raises(NetworkError, match="not initialized"):
        await made.post(f"{server.url}/echo")
    async with made:  # and it can be opened again
        assert await made.post(f"{server.url}/echo") == {"message_id": 2, "echo": {}}


def test_ptbs_four_timeouts_as_aiohttps() -> None:
    timeout = client_timeout(read=2.0, write=3.0, connect=1.0, pool=0.5)
    assert (timeout.sock_read, timeout.sock_connect, timeout.connect) == (2.0, 1.0, 1.5)
    assert timeout.total == 6.5
    unbounded = client_timeout(read=None, write=3.0, connect=1.0, pool=None)
    assert (unbounded.sock_read, unbounded.connect, unbounded.total) == (None, None, None)


# The channel's bot on it ----------------------------------------------------------------


async def test_the_channels_bot_sends_through_it_and_reads_only_the_message_id() -> None:
    async with TelegramStandIn() as standin:
        standin.add_chat(GROUP)
        async with TelegramBot(DEFAULT_TOKEN, standin.url) as telegram:
            assert isinstance(telegram.bot.request, AiohttpRequest)
            message_id = await telegram.send_message(GROUP, "hola", [[("Ok", "ack")]])
            await telegram.edit_message(GROUP, message_id, "adiós", [[("Ok", "ack:2")]])
    [message] = standin.messages(GROUP)
    assert (message["message_id"], message["text"]) == (message_id, "adiós")
    assert message["reply_markup"]["inline_keyboard"] == [
        [{"text": "Ok", "callback_data": "ack:2"}]
    ]
    assert {call.method for call in standin.calls} == {"getMe", "sendmessage", "editmessagetext"}


async def test_an_answer_without_a_message_id_is_retried() -> None:
    async def get_me(request: web.Request) -> web.Response:
        return ok({"id": 123456, "is_bot": True, "first_name": "x", "username": "x_bot"})

    async def send(request: web.Request) -> web.Response:
        return ok(True)  # (no Message)

    app = web.Application()
    app.router.add_post("/bot{token}/getMe", get_me)
    app.router.add_post("/bot{token}/sendmessage", send)
    async with TestServer(app) as running:
        url = str(running.make_url("")).rstrip("/")
        async with TelegramBot(DEFAULT_TOKEN, url) as telegram:
            with pytest.raises(TransientError, match="without a message id"):
                await telegram.send_message(GROUP, "hola")
