"""The Telegram stand-in, driven by python-telegram-bot itself: what a channel will meet."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.standins.telegram import (
    DEFAULT_TOKEN,
    SECRET_HEADER,
    Fault,
    TelegramStandIn,
    blocked,
    chat_not_found,
    kicked,
    lost,
    migrated,
    person,
    reset,
    retry_after,
    server_error,
    slow,
    when,
)

PRIVATE = 424242  # a person's chat: its id is the person's
GROUP = -4_000_123  # a basic group
SUPERGROUP = -1_001_234_567_890
ACK = InlineKeyboardMarkup([[InlineKeyboardButton("Recibido", callback_data="ack:ser-1")]])


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (PTBDeprecationWarning) whenever RetryAfter is built or read,
    # and warnings are errors here: a channel should set it too (or filter that warning).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def standin() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as running:
        yield running


@pytest.fixture
async def bot(standin: TelegramStandIn) -> AsyncIterator[Bot]:
    async with Bot(DEFAULT_TOKEN, base_url=standin.base_url) as client:
        yield client


# The Bot API as PTB speaks it ----------------------------------------------------------------


async def test_get_me_is_the_bot_of_the_token(standin: TelegramStandIn, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot and me.username == "standin_123456_bot"
    assert [call.method for call in standin.calls] == ["getMe", "getMe"]  # initialize() too
    assert all(call.token == DEFAULT_TOKEN and call.status == 200 for call in standin.calls)


async def test_each_token_is_its_own_bot() -> None:
    async with (
        TelegramStandIn(tokens=("111:staff", "222:customers")) as standin,
        Bot("111:staff", base_url=standin.base_url) as staff,
        Bot("222:customers", base_url=standin.base_url) as customers,
    ):
        standin.queue_message(PRIVATE, "hola", token="222:customers")
        assert await staff.get_updates() == ()
        assert len(await customers.get_updates()) == 1
        sent = await staff.send_message(GROUP, "aviso")
        assert sent.from_user is not None and sent.from_user.id == 111
    assert standin.messages(GROUP, "111:staff") and not standin.messages(GROUP, "222:customers")


@pytest.mark.parametrize(("token", "status"), [("999:unknown", 401), ("not-a-token", 404)])
async def test_a_bad_token_is_invalid_token(
    standin: TelegramStandIn, token: str, status: int
) -> None:
    with pytest.raises(InvalidToken):
        async with Bot(token, base_url=standin.base_url):
            pass
    assert standin.calls[-1].status == status


async def test_an_unknown_method_is_404_not_found(standin: TelegramStandIn, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendCarrierPigeon", api_kwargs={"chat_id": PRIVATE})
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{standin.base_url}{DEFAULT_TOKEN}/sendCarrierPigeon") as answer,
    ):
        assert answer.status == 404
        assert await answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_send_message_with_a_keyboard(standin: TelegramStandIn, bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "<b>Permisos SER</b>: caída", "HTML", reply_markup=ACK)
    assert sent.message_id == 1 and sent.text == "<b>Permisos SER</b>: caída"
    assert sent.chat.id == GROUP and sent.chat.type == "group" and sent.chat.title
    assert sent.from_user is not None and sent.from_user.id == 123456
    assert sent.reply_markup == ACK
    assert isinstance(sent.date, dt.datetime) and sent.date.tzinfo is not None
    call = standin.calls_to("sendMessage")[0]
    assert call.params == {
        "chat_id": GROUP,
        "text": "<b>Permisos SER</b>: caída",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "Recibido", "callback_data": "ack:ser-1"}]]},
    }
    second = await bot.send_message(GROUP, "Actualización")
    assert second.message_id == 2
    assert [m["text"] for m in standin.messages(GROUP)] == [sent.text, "Actualización"]


async def test_telegram_refuses_what_it_cannot_parse(bot: Bot) -> None:
    with pytest.raises(BadRequest, match='Can\'t parse entities: unsupported start tag "img"'):
        await bot.send_message(PRIVATE, "<img src=x onerror=alert(1)>", ParseMode.HTML)
    with pytest.raises(BadRequest, match="Can't parse entities: can't find end tag"):
        await bot.send_message(PRIVATE, "<b>sin cerrar", ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(PRIVATE, " ")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(PRIVATE, "x" * 4097)
    too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(PRIVATE, "hola", reply_markup=too_long_data)
    escaped = await bot.send_message(PRIVATE, "&lt;img&gt; <i>ok</i>", ParseMode.HTML)
    assert escaped.text == "&lt;img&gt; <i>ok</i>"


async def test_edits_apply_and_an_unchanged_edit_is_bad_request(
    standin: TelegramStandIn, bot: Bot
) -> None:
    sent = await bot.send_message(GROUP, "Caída", reply_markup=ACK)
    edited = await bot.edit_message_text(
        "Resuelto", chat_id=GROUP, message_id=sent.message_id, reply_markup=ACK
    )
    assert isinstance(edited, type(sent)) and edited.text == "Resuelto"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"^Message is not modified"):
        await bot.edit_message_text(
            "Resuelto", chat_id=GROUP, message_id=sent.message_id, reply_markup=ACK
        )
    bare = await bot.edit_message_reply_markup(GROUP, sent.message_id, reply_markup=None)
    assert not isinstance(bare, bool) and bare.reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(GROUP, sent.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("?", chat_id=GROUP, message_id=99)
    assert standin.messages(GROUP)[0]["text"] == "Resuelto"
    assert "reply_markup" not in standin.messages(GROUP)[0]


async def test_a_queued_message_and_a_button_press_arrive_as_ptb_updates(
    standin: TelegramStandIn, bot: Bot
) -> None:
    standin.queue_message(PRIVATE, "¿Qué pasa en 28013?", user=person(PRIVATE, language_code="en"))
    standin.queue_command(GROUP, "estado", "centro", mention=True)
    alert = await bot.send_message(GROUP, "Permisos SER caídos", reply_markup=ACK)
    standin.press_button(GROUP, alert.message_id, "ack:ser-1", user=person(77, "Luis"))

    updates = await bot.get_updates(timeout=0)

    text, command, press = updates
    assert text.message is not None and text.message.text == "¿Qué pasa en 28013?"
    assert text.effective_user is not None and text.effective_user.language_code == "en"
    assert text.effective_chat is not None and text.effective_chat.type == "private"
    assert (
        command.message is not None and command.message.text == "/estado@standin_123456_bot centro"
    )
    assert command.message.entities[0].type == "bot_command"
    assert command.effective_chat is not None and command.effective_chat.type == "group"
    query = press.callback_query
    assert query is not None and query.data == "ack:ser-1" and query.from_user.first_name == "Luis"
    assert query.message is not None and query.message.message_id == alert.message_id
    assert await bot.answer_callback_query(query.id, "¡Gracias!") is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)
    assert standin.bot().answered_queries[query.id]["text"] == "¡Gracias!"

    # The offset confirms what was read; what is confirmed never comes back.
    assert await bot.get_updates(offset=press.update_id + 1, timeout=0) == ()
    with pytest.raises(LookupError):
        standin.press_button(GROUP, alert.message_id, "no-such-button")


async def test_a_long_poll_answers_as_soon_as_an_update_is_queued() -> None:
    async with (
        TelegramStandIn(long_poll_cap=None) as standin,
        Bot(DEFAULT_TOKEN, base_url=standin.base_url) as patient,
    ):
        started = time.monotonic()
        polling = asyncio.create_task(patient.get_updates(timeout=30))
        await standin.wait_for_poller()
        standin.queue_message(PRIVATE, "hola")
        updates = await polling
    assert time.monotonic() - started < 1.0
    assert updates[0].message is not None and updates[0].message.text == "hola"


async def test_a_long_poll_with_nothing_waits_only_the_cap(standin: TelegramStandIn) -> None:
    standin.long_poll_cap = 0.05
    async with Bot(DEFAULT_TOKEN, base_url=standin.base_url) as bot:
        started = time.monotonic()
        assert await bot.get_updates(timeout=10) == ()
    assert time.monotonic() - started < 1.0


async def test_a_second_poller_terminates_the_first_with_conflict(
    standin: TelegramStandIn,
) -> None:
    async with (
        Bot(DEFAULT_TOKEN, base_url=standin.base_url) as first,
        Bot(DEFAULT_TOKEN, base_url=standin.base_url) as second,
    ):
        polling = asyncio.create_task(first.get_updates(timeout=10))
        await standin.wait_for_poller()
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await polling
    assert [call.status for call in standin.calls_to("getUpdates")] == [409, 200]


async def test_get_updates_while_a_webhook_is_set_is_conflict(bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook") is True
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook() is True
    assert await bot.get_updates() == ()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[web.Request], list[dict[str, Any]]]]:
    """A webhook endpoint (what PTB's or our own listener would be); /fail answers 500."""
    requests: list[web.Request] = []
    bodies: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        requests.append(request)
        bodies.append(await request.json())
        return web.Response(status=500 if request.path == "/fail" else 200)

    app = web.Application()
    app.router.add_post("/{name}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", requests, bodies
    await runner.cleanup()


async def test_updates_reach_the_webhook_with_its_secret_header(
    standin: TelegramStandIn,
    bot: Bot,
    receiver: tuple[str, list[web.Request], list[dict[str, Any]]],
) -> None:
    url, requests, bodies = receiver
    assert await bot.set_webhook(f"{url}/hook", secret_token="s3cret-Token_1")
    info = await bot.get_webhook_info()
    assert info.url == f"{url}/hook" and info.pending_update_count == 0

    standin.queue_message(PRIVATE, "hola")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert await standin.deliver_webhook() == [200]

    assert requests[0].headers[SECRET_HEADER] == "s3cret-Token_1"
    update = Update.de_json(bodies[0], bot)
    assert update.message is not None and update.message.text == "hola"
    assert (await bot.get_webhook_info()).pending_update_count == 0

    with pytest.raises(BadRequest, match="Secret token contains unallowed characters"):
        await bot.set_webhook(f"{url}/hook", secret_token="no spaces allowed")


async def test_a_failing_webhook_keeps_the_update_and_says_why(
    standin: TelegramStandIn,
    bot: Bot,
    receiver: tuple[str, list[web.Request], list[dict[str, Any]]],
) -> None:
    url, _, _ = receiver
    await bot.set_webhook(f"{url}/fail")
    standin.queue_message(PRIVATE, "hola")
    assert await standin.deliver_webhook() == [500]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None


# Faults and how PTB reports them -------------------------------------------------------------


async def _send_with(fault: Fault, **send: Any) -> tuple[TelegramStandIn, BaseException]:
    async with (
        TelegramStandIn(faults=when(fault, method="sendMessage")) as standin,
        Bot(DEFAULT_TOKEN, base_url=standin.base_url) as bot,
    ):
        with pytest.raises(Exception) as raised:
            await bot.send_message(GROUP, "Permisos SER caídos", **send)
    return standin, raised.value


async def test_429_is_retry_after_with_its_seconds() -> None:
    _, error = await _send_with(retry_after(7))
    assert isinstance(error, RetryAfter)
    assert error.retry_after == dt.timedelta(seconds=7)  # a timedelta with PTB_TIMEDELTA set


async def test_a_migrated_group_is_chat_migrated_with_the_new_id() -> None:
    _, error = await _send_with(migrated(SUPERGROUP))
    assert isinstance(error, ChatMigrated) and error.new_chat_id == SUPERGROUP


@pytest.mark.parametrize(
    ("fault", "kind", "message"),
    [
        (kicked(), Forbidden, "Forbidden: bot was kicked from the group chat"),
        (blocked(), Forbidden, "Forbidden: bot was blocked by the user"),
        # PTB strips "Bad Request: " and capitalizes the rest (lowercasing it).
        (chat_not_found(), BadRequest, "Chat not found"),
        (server_error(500), NetworkError, "Internal Server Error"),
        (server_error(502, html=True), NetworkError, "Bad Gateway (502). Parsing the server"),
    ],
)
async def test_refusals_map_to_ptb_exceptions(
    fault: Fault, kind: type[Exception], message: str
) -> None:
    standin, error = await _send_with(fault)
    assert type(error) is kind and str(error).startswith(message)
    assert standin.messages(GROUP) == []  # nothing was sent


async def test_a_reset_is_network_error_and_nothing_was_sent() -> None:
    standin, error = await _send_with(reset())
    assert type(error) is NetworkError and "RemoteProtocolError" in str(error)
    assert standin.messages(GROUP) == [] and standin.calls_to("sendMessage")[0].status == 0


async def test_a_lost_answer_is_network_error_though_the_message_was_sent() -> None:
    standin, error = await _send_with(lost())
    assert type(error) is NetworkError
    assert [m["text"] for m in standin.messages(GROUP)] == ["Permisos SER caídos"]


async def test_a_slow_answer_is_timed_out_though_the_message_was_sent() -> None:
    standin, error = await _send_with(slow(2), read_timeout=0.1)
    assert isinstance(error, TimedOut) and isinstance(error, NetworkError)
    assert [m["text"] for m in standin.messages(GROUP)] == ["Permisos SER caídos"]


async def test_faults_follow_the_plan_by_call_number_and_chat() -> None:
    plan = when(retry_after(1), method="sendMessage", chat_id=GROUP, times=1)
    async with (
        TelegramStandIn(faults=plan) as standin,
        Bot(DEFAULT_TOKEN, base_url=standin.base_url) as bot,
    ):
        await bot.send_message(PRIVATE, "a otra conversación: sin fallo")
        with pytest.raises(RetryAfter):
            await bot.send_message(GROUP, "primera vez: 429")
        await bot.send_message(GROUP, "segunda vez: enviado")
    statuses = [(call.chat_id, call.status) for call in standin.calls_to("sendMessage")]
    assert statuses == [(PRIVATE, 200), (GROUP, 429), (GROUP, 200)]


async def test_a_kicked_or_migrated_chat_stays_so(standin: TelegramStandIn, bot: Bot) -> None:
    standin.kick(GROUP)
    standin.migrate(-4_000_999, SUPERGROUP)
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(GROUP, "¿hola?")
        with pytest.raises(ChatMigrated):
            await bot.send_message(-4_000_999, "¿hola?")
    moved = await bot.send_message(SUPERGROUP, "aquí")
    assert moved.chat.type == "supergroup"


async def test_strict_chats_need_an_introduction() -> None:
    async with (
        TelegramStandIn(strict_chats=True) as standin,
        Bot(DEFAULT_TOKEN, base_url=standin.base_url) as bot,
    ):
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(PRIVATE, "hola")
        standin.queue_message(PRIVATE, "/start")
        await bot.send_message(PRIVATE, "hola")


# Flood limits --------------------------------------------------------------------------------


async def test_flood_limits_are_reported(standin: TelegramStandIn, bot: Bot) -> None:
    await bot.send_message(PRIVATE, "uno")
    await bot.send_message(PRIVATE, "dos")  # within a second: over the private limit
    for n in range(30):
        await bot.send_message(-4_100_000 - n, "aviso")  # 32 in a second: over the bot's limit
    assert standin.most_in_window(1.0, chat_id=PRIVATE) == 2
    assert standin.limit_violations() == [
        f"chat {PRIVATE} (private): 2 messages within 1 s, limit 1",
        "bot: 32 messages within 1 s, limit 30",
    ]


async def test_groups_may_take_twenty_a_minute(standin: TelegramStandIn, bot: Bot) -> None:
    for n in range(20):
        await bot.send_message(GROUP, f"aviso {n}")
    assert standin.limit_violations() == []
    await bot.send_message(GROUP, "uno de más")
    assert standin.limit_violations() == [
        f"chat {GROUP} (group): 21 messages within 60 s, limit 20"
    ]


async def test_enforced_limits_answer_429_like_telegram() -> None:
    async with (
        TelegramStandIn(enforce_limits=True) as standin,
        Bot(DEFAULT_TOKEN, base_url=standin.base_url) as bot,
    ):
        await bot.send_message(PRIVATE, "uno")
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(PRIVATE, "dos")
        await bot.send_message(GROUP, "otra conversación sí puede")
    assert raised.value.retry_after == dt.timedelta(seconds=1)
    assert standin.limit_violations() == []


# An Application polling, as the channel will run it ------------------------------------------


async def test_an_application_polls_answers_a_command_and_a_button(
    standin: TelegramStandIn,
) -> None:
    standin.long_poll_cap = 0.05
    greeted: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        sent = await context.bot.send_message(update.effective_chat.id, "Hola", reply_markup=ACK)
        greeted.set_result(sent.message_id)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Anotado")
        await update.callback_query.edit_message_text("Hola — recibido")
        done.set()

    application: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(DEFAULT_TOKEN).base_url(standin.base_url).build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=10)
        standin.queue_command(PRIVATE, "start")
        async with asyncio.timeout(3):
            standin.press_button(PRIVATE, await greeted, "ack:ser-1")
            await done.wait()
        await application.updater.stop()
        await application.stop()

    assert standin.messages(PRIVATE)[0]["text"] == "Hola — recibido"
    assert standin.calls_to("deleteWebhook")  # the updater makes sure no webhook is set
    assert next(iter(standin.bot().answered_queries.values()))["text"] == "Anotado"
    assert standin.bot().updates == []  # stopping confirmed what was read


# For a person trying it (curl) ---------------------------------------------------------------


async def test_curl_can_queue_a_message_and_see_the_calls(
    standin: TelegramStandIn, bot: Bot
) -> None:
    async with aiohttp.ClientSession() as session:
        body = {"chat_id": PRIVATE, "text": "/start", "from": {"language_code": "en"}}
        async with session.post(f"{standin.url}/_standin/updates", json=body) as answer:
            assert answer.status == 200
        updates = await bot.get_updates()
        assert updates[0].effective_user is not None
        assert updates[0].effective_user.language_code == "en"

        # JSON bodies, as curl sends them, work too.
        send = {"chat_id": PRIVATE, "text": "hola", "reply_markup": ACK.to_dict()}
        async with session.post(f"{standin.base_url}{DEFAULT_TOKEN}/sendMessage", json=send) as a:
            sent = await a.json()
        assert sent["ok"] and sent["result"]["reply_markup"] == ACK.to_dict()

        async with session.get(f"{standin.url}/_standin/calls") as answer:
            calls = await answer.json()
        async with session.get(f"{standin.url}/_standin/messages?chat_id={PRIVATE}") as answer:
            messages = await answer.json()
    assert [call["method"] for call in calls] == ["getMe", "getUpdates", "sendMessage"]
    assert [m["text"] for m in messages[str(PRIVATE)]] == ["hola"]


async def test_curl_can_press_a_button_as_someone(standin: TelegramStandIn, bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "alerta", reply_markup=ACK)
    body = {"chat_id": GROUP, "message_id": sent.message_id, "from": {"first_name": "Marta"}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{standin.url}/_standin/press", json=body) as answer,
    ):
        assert answer.status == 200
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.from_user.first_name == "Marta"
