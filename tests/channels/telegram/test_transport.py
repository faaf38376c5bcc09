"""The shared Telegram transport against the stand-in: one Bot per token, errors as the
engine's, getUpdates with its offset in the store, and the webhook's secret."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.delivery.model import PermanentError, RetryLater, TransientError
from bot.inbound import ButtonPressed, Inbound, TextMessage
from bot.store import Store, open_store
from channels.telegram.bot_api import (
    UNREACHABLE_RETRY,
    ChatMoved,
    ChatUnreachable,
    TelegramBot,
    TokenRejected,
)
from channels.telegram.updates import (
    SECRET_HEADER,
    UpdatePoller,
    secret_token,
    webhook_app,
)
from tests.conftest import NOON
from tests.standins.telegram import (
    DEFAULT_TOKEN,
    TelegramStandIn,
    bad_request,
    chat_not_found,
    kicked,
    migrated,
    person,
    reset,
    retry_after,
    server_error,
    slow,
    when,
)

GROUP = -1_001_234_567_890


@pytest.fixture
async def standin() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as running:
        running.add_chat(GROUP)
        yield running


@pytest.fixture
async def telegram(standin: TelegramStandIn) -> AsyncIterator[TelegramBot]:
    async with TelegramBot(DEFAULT_TOKEN, standin.url, timeout=0.5, poll_timeout=1) as bot:
        yield bot


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as opened:
        yield opened


async def test_it_asks_get_me_and_sends_plain_text_with_buttons(
    standin: TelegramStandIn, telegram: TelegramBot
) -> None:
    assert telegram.username == standin.bot().user["username"]
    message_id = await telegram.send_message(GROUP, "<b>not markup</b>", [[("Ok", "ack")]])
    [message] = standin.messages(GROUP)
    assert message["message_id"] == message_id and message["text"] == "<b>not markup</b>"
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ack"
    await telegram.edit_message(GROUP, message_id, "edited")
    await telegram.edit_message(GROUP, message_id, "edited")  # not modified: no error
    assert standin.messages(GROUP)[0]["text"] == "edited"


async def test_a_token_telegram_rejects_is_a_clear_error(standin: TelegramStandIn) -> None:
    rejected = TelegramBot("999:unknown", standin.url)
    with pytest.raises(TokenRejected, match="rejected the token of bot 999") as caught:
        await rejected.start()
    assert "unknown" not in str(caught.value)  # the secret part is never told
    with pytest.raises(RetryLater):
        await rejected.send_message(GROUP, "x")
    await rejected.stop()


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        (server_error(502, html=True), TransientError, "Bad Gateway|502"),
        (server_error(500), TransientError, "Internal"),
        (reset(), TransientError, "Error"),
        (slow(2.0), TransientError, "Timed"),
        (kicked(), ChatUnreachable, "kicked"),
        (chat_not_found(), ChatUnreachable, "(?i)chat not found"),
        (bad_request("message text is empty"), PermanentError, "empty"),
        (migrated(-1_009_999), ChatMoved, "-1009999"),
    ],
)
async def test_errors_become_what_the_engine_does_next(
    standin: TelegramStandIn,
    telegram: TelegramBot,
    fault: object,
    error: type[Exception],
    words: str,
) -> None:
    standin.faults = when(fault, method="sendMessage", times=1)  # type: ignore[arg-type]
    with pytest.raises(error, match=words) as caught:
        await telegram.send_message(GROUP, "x")
    if isinstance(caught.value, ChatUnreachable):
        assert caught.value.after == UNREACHABLE_RETRY
    if isinstance(caught.value, ChatMoved):
        assert caught.value.new_chat_id == -1_009_999


async def test_retry_after_pauses_the_whole_bot(
    standin: TelegramStandIn, telegram: TelegramBot
) -> None:
    standin.faults = when(retry_after(1), method="sendMessage", times=1)
    with pytest.raises(RetryLater) as caught:
        await telegram.send_message(GROUP, "first")
    assert caught.value.after == 1
    loop = asyncio.get_running_loop()
    started = loop.time()
    await telegram.send_message(GROUP, "second")  # waits the second out, then goes
    assert loop.time() - started >= 0.9
    assert [m["text"] for m in standin.messages(GROUP)] == ["second"]


async def test_long_polling_keeps_its_offset_in_the_store(
    standin: TelegramStandIn, telegram: TelegramBot, store: Store
) -> None:
    heard: list[Inbound] = []

    async def dispatch(event: Inbound) -> None:
        heard.append(event)

    poller = UpdatePoller(telegram, store, "staff", lambda: NOON)
    standin.queue_message(GROUP, "/status", user=person(7, "Ana"))
    message_id = await telegram.send_message(GROUP, "alert", [[("Ok", "ack")]])
    standin.press_button(GROUP, message_id, "ack", user=person(8, "Luis"))
    assert await poller.poll_once(dispatch) == 2
    text, button = heard
    assert isinstance(text, TextMessage) and text.command == ("status", "")
    assert text.conversation == str(GROUP) and text.person.id == "7"
    assert isinstance(button, ButtonPressed) and button.data == "ack"
    assert button.message_id == str(message_id) and button.person.name == "Luis"
    assert await store.update_offset(telegram.id) == standin.bot().next_update_id
    # A new poller (another instance, a restart) starts where this one stopped.
    again = UpdatePoller(telegram, store, "staff", lambda: NOON)
    assert await again.poll_once(dispatch) == 0
    assert len(heard) == 2


async def test_the_poller_stops_mid_poll_and_survives_faults(
    standin: TelegramStandIn, telegram: TelegramBot, store: Store
) -> None:
    heard: list[Inbound] = []

    async def dispatch(event: Inbound) -> None:
        heard.append(event)

    standin.faults = when(server_error(502), method="getUpdates", times=1)
    stop = asyncio.Event()
    poller = UpdatePoller(telegram, store, "staff", lambda: NOON)
    task = asyncio.create_task(poller.run(dispatch, stop))
    standin.queue_message(GROUP, "hola")
    for _ in range(100):
        if heard:
            break
        await asyncio.sleep(0.05)
    assert [e.text for e in heard if isinstance(e, TextMessage)] == ["hola"]
    assert standin.calls_to("deleteWebhook")
    stop.set()
    await asyncio.wait_for(task, 3)


async def test_forged_and_oversized_updates_are_ignored(
    standin: TelegramStandIn, telegram: TelegramBot, store: Store
) -> None:
    heard: list[Inbound] = []

    async def dispatch(event: Inbound) -> None:
        heard.append(event)

    standin.queue_message(GROUP, "x" * 5000)
    standin.queue_update({"edited_message": {"nothing": True}})
    poller = UpdatePoller(telegram, store, "staff", lambda: NOON)
    await poller.poll_once(dispatch)
    assert heard == []


async def test_the_webhook_needs_the_secret_header(
    standin: TelegramStandIn, telegram: TelegramBot
) -> None:
    heard: list[Inbound] = []

    async def dispatch(event: Inbound) -> None:
        heard.append(event)

    app = web.Application()
    app.add_subapp(
        "/telegram/staff", webhook_app(telegram, DEFAULT_TOKEN, "staff", dispatch, lambda: NOON)
    )
    async with TestClient(TestServer(app)) as client:
        update = standin.queue_message(GROUP, "/help")
        answer = await client.post("/telegram/staff/", json=update)
        assert answer.status == 401
        wrong = {SECRET_HEADER: "nope"}
        assert (await client.post("/telegram/staff/", json=update, headers=wrong)).status == 401
        right = {SECRET_HEADER: secret_token(DEFAULT_TOKEN)}
        assert (await client.post("/telegram/staff/", json=update, headers=right)).status == 200
        junk = await client.post("/telegram/staff/", json={"hello": 1}, headers=right)
        assert junk.status == 200
        bad = await client.post("/telegram/staff/", data=b"{", headers=right)
        assert bad.status == 400
    assert [e.text for e in heard if isinstance(e, TextMessage)] == ["/help"]


async def test_the_stand_in_delivers_to_the_webhook_with_the_secret(
    standin: TelegramStandIn, telegram: TelegramBot
) -> None:
    heard: list[Inbound] = []

    async def dispatch(event: Inbound) -> None:
        heard.append(event)

    app = web.Application()
    app.add_subapp(
        "/telegram/staff", webhook_app(telegram, DEFAULT_TOKEN, "staff", dispatch, lambda: NOON)
    )
    async with TestServer(app) as server:
        url = str(server.make_url("/telegram/staff/"))
        await telegram.set_webhook(url, secret_token(DEFAULT_TOKEN))
        standin.queue_message(GROUP, "/status")
        assert await standin.deliver_webhook() == [200]
    assert len(heard) == 1
    assert heard[0].at == NOON and NOON.tzinfo is not None
    assert isinstance(NOON, dt.datetime)
