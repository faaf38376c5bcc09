"""Faults through the engine: 429, 5xx, resets, 403, chat not found, migration; and the
operators' chat, the acks API and the channel's start-up line."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.delivery.consistency import check
from bot.settings import Settings
from channels.telegram import StaffChannel
from tests.channels.telegram.conftest import (
    OPERATIONS,
    OPERATOR,
    STRANGER,
    WARDENS,
    Running,
    running_unavoz,
    staff_feed,
)
from tests.standins.telegram import (
    DEFAULT_TOKEN,
    TelegramStandIn,
    kicked,
    migrated,
    person,
    reset,
    retry_after,
    server_error,
    when,
)


@pytest.fixture
async def faulty(
    feed_file: Path, tmp_path: Path, standin: TelegramStandIn, request: pytest.FixtureRequest
) -> AsyncIterator[Running]:
    standin.faults = request.param
    feed_file.write_text(staff_feed(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    async with running_unavoz(feed_file, f"sqlite:///{tmp_path}/u.db", standin) as running:
        yield running


@pytest.mark.parametrize(
    "faulty",
    [
        when(retry_after(1), method="sendMessage", times=1),
        when(server_error(502, html=True), method="sendMessage", times=2),
        when(reset(), method="sendMessage", times=1),
    ],
    indirect=True,
)
async def test_429_5xx_and_resets_are_waited_out_and_nothing_is_dropped(faulty: Running) -> None:
    await faulty.until(lambda: faulty.texts(WARDENS) and faulty.texts(OPERATIONS), within=15)
    assert len(faulty.texts(WARDENS)) == 1  # nothing twice
    assert faulty.standin.limit_violations() == []


@pytest.mark.parametrize("faulty", [when(kicked(), chat_id=WARDENS)], indirect=True)
async def test_a_chat_that_kicked_the_bot_is_failing_with_its_reason(faulty: Running) -> None:
    await faulty.until(lambda: faulty.texts(OPERATIONS))
    store = faulty.app.store
    for _ in range(200):
        _, channels = await check(store)
        staff = next(c for c in channels if c.channel == "staff")
        if staff.state == "failing":
            break
        await faulty.until(lambda: True)
    assert staff.state == "failing" and "kicked" in (staff.last_error or "")
    # Retried rarely: one attempt, no tight loop.
    sends = [c for c in faulty.standin.calls_to("sendMessage") if c.chat_id == WARDENS]
    assert len(sends) == 1


@pytest.mark.parametrize(
    "faulty", [when(migrated(-1_009_000_000_001), chat_id=WARDENS)], indirect=True
)
async def test_a_migrated_group_is_told_at_its_new_id(faulty: Running) -> None:
    new = -1_009_000_000_001
    faulty.standin.add_chat(new)
    await faulty.until(lambda: faulty.texts(new))
    assert await faulty.app.store.chat_moves() == {str(WARDENS): str(new)}
    [alert] = faulty.messages(new)
    faulty.standin.press_button(new, alert["message_id"], "ack", user=person(5, "Luis"))
    await faulty.until(lambda: "Recibido por Luis" in faulty.texts(new)[0])
    [ack] = await faulty.app.store.acks_for("permits-down")
    assert ack.target == str(WARDENS) and ack.group_id == "wardens-centro"


@pytest.fixture
async def quick(
    feed_file: Path, tmp_path: Path, standin: TelegramStandIn
) -> AsyncIterator[Running]:
    """Without Telegram's limits (a private chat's 1 a second makes a long conversation slow)."""
    feed_file.write_text(staff_feed(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    database = f"sqlite:///{tmp_path}/u.db"
    async with running_unavoz(feed_file, database, standin, TELEGRAM_RATE="0/1") as running:
        yield running


async def test_an_operator_opens_updates_and_resolves_from_the_chat(quick: Running) -> None:
    unavoz = quick
    standin, me = unavoz.standin, person(OPERATOR, "Marta", language_code="en")
    await unavoz.until(lambda: unavoz.texts(OPERATIONS))

    def last() -> dict[str, object]:
        return unavoz.messages(OPERATOR)[-1]

    async def press(label_start: str) -> None:
        count = len(unavoz.messages(OPERATOR))
        message = last()
        markup = message["reply_markup"]
        assert isinstance(markup, dict)
        button = next(
            b for row in markup["inline_keyboard"] for b in row if b["text"].startswith(label_start)
        )
        standin.press_button(OPERATOR, int(str(message["message_id"])), button["callback_data"],
                             user=me)  # fmt: skip
        await unavoz.until(lambda: len(unavoz.messages(OPERATOR)) > count)

    async def say(text: str) -> None:
        count = len(unavoz.messages(OPERATOR))
        standin.queue_message(OPERATOR, text, user=me)
        await unavoz.until(lambda: len(unavoz.messages(OPERATOR)) > count)

    await say("/open")
    assert str(last()["text"]).startswith("Which services?")
    await press("fibre")
    await press("Done")
    await press("North")
    await press("Done")
    await press("investigating")
    for words in ("Sin fibra en Norte", "No fibre in the North", "No hay fibra.", "No fibre.",
                  "-", "-", "+2h", "14:00"):  # fmt: skip
        await say(words)
    preview = str(last()["text"])
    assert preview.startswith("This is what every channel will say.")
    assert "▶ ivr:" in preview and "▶ staff:" in preview and "No fibre" in preview
    await press("Confirm")
    assert str(last()["text"]).startswith("Done: revision 2, by telegram:777 (Marta)")
    revision = await unavoz.app.store.latest_revision()
    assert revision is not None and revision.source == "telegram"
    assert revision.author == "telegram:777 (Marta)"
    incident = unavoz.app.service.state.feed.incident("no-fibre-in-the-north")
    assert incident is not None and incident.areas == ["norte"]
    assert incident.eta == unavoz.clock() + dt.timedelta(hours=2)

    await say("/update")
    await press("No fibre in the North")
    await press("cause identified")
    for words in ("Cable cortado.", "A cut cable.", "-", "-"):
        await say(words)
    await press("Confirm")
    assert "revision 3" in str(last()["text"])
    await say("/resolve")
    await press("No fibre in the North")
    await say("Reparado.")
    await say("Repaired.")
    await press("Confirm")
    assert "revision 4" in str(last()["text"])
    resolved = unavoz.app.service.state.feed.incident("no-fibre-in-the-north")
    assert resolved is not None and not resolved.is_open


async def test_someone_not_on_the_list_is_refused_politely(
    unavoz: Running, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = person(STRANGER, "Pepe", language_code="es")
    unavoz.standin.queue_message(STRANGER, "/open", user=stranger)
    await unavoz.until(lambda: unavoz.texts(STRANGER))
    assert unavoz.texts(STRANGER)[0].startswith("Lo siento: solo los responsables")
    assert "telegram user 888 (Pepe) is not on the operators' list" in caplog.text
    assert (await unavoz.app.store.latest_revision()).number == 1  # type: ignore[union-attr]


async def test_the_acks_api_says_who_acknowledged_and_who_did_not(unavoz: Running) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS) and unavoz.texts(OPERATIONS))
    [alert] = unavoz.messages(WARDENS)
    unavoz.standin.press_button(WARDENS, alert["message_id"], "ack", user=person(5, "Luis"))
    await unavoz.until(lambda: "Recibido por" in unavoz.texts(WARDENS)[0])
    settings = unavoz.app.settings.model_copy(update={"admin_token": "s3cret"})
    app = unavoz.app
    http = type(app)(
        settings, app.store, app.registry, app.adapters, app.service, app.engine,
        app.scheduler, app.context, app.listeners, app.timekeeper,
    ).http_app()  # fmt: skip
    async with TestClient(TestServer(http)) as client:
        path = "/api/v1/incidents/permits-down/acks"
        assert (await client.get(path)).status == 401
        answer = await client.get(path, headers={"Authorization": "Bearer s3cret"})
        body = await answer.json()
        # The console shows the same per incident: who acknowledged, who did not.
        console = await client.get("/console", headers={"Authorization": "Bearer s3cret"})
        page = await console.text()
    groups = {g["group"]: g for g in body["groups"]}
    assert groups["wardens-centro"]["acknowledged"]
    assert groups["wardens-centro"]["by"][0]["user_name"] == "Luis"
    assert not groups["operations"]["acknowledged"]
    assert "<li>staff group wardens-centro: acknowledged by Luis</li>" in page
    assert "<li>staff group operations: NOT acknowledged</li>" in page


def test_the_start_up_line_says_off_polling_or_webhook() -> None:
    channel = StaffChannel()
    assert channel.state(Settings.from_env({})) == "off (TELEGRAM_STAFF_TOKEN not set)"
    on = Settings.from_env({"TELEGRAM_STAFF_TOKEN": DEFAULT_TOKEN})
    assert channel.state(on) == "on (polling)"
    hooked = Settings.from_env(
        {"TELEGRAM_STAFF_TOKEN": DEFAULT_TOKEN, "TELEGRAM_WEBHOOK_URL": "https://u.example/tg"}
    )
    assert channel.state(hooked) == "on (webhook https://u.example/tg/staff/)"
    assert channel.adapter(Settings.from_env({})) is None
