"""The customer bot on a token of its own, Telegram's limits on: faults (429, 5xx, resets)
lose and repeat no notice, a burst stays within 30/s and 1/s per chat, the subscriptions
summary and hand-offs over HTTP and in the console, /consistency, the start-up line."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.feed.changes import UpdateIncident
from bot.settings import Settings
from bot.store import Place
from channels.telegram import CustomerChannel
from tests.channels.telegram.conftest import Running, running_unavoz
from tests.conftest import NOON
from tests.standins.telegram import (
    DEFAULT_TOKEN,
    TelegramStandIn,
    person,
    reset,
    retry_after,
    server_error,
    when,
)

pytestmark = pytest.mark.timeout(90)

CUSTOMER_TOKEN = "654321:customer-token"
ANA = 424242
TOKEN = "s3cret"


@pytest.fixture
async def own(
    feed_file: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Running]:
    async with TelegramStandIn(tokens=[DEFAULT_TOKEN, CUSTOMER_TOKEN]) as standin:
        standin.enforce_limits = True
        standin.faults = getattr(request, "param", standin.faults)
        async with running_unavoz(
            feed_file,
            f"sqlite:///{tmp_path}/u.db",
            standin,
            TELEGRAM_CUSTOMER_TOKEN=CUSTOMER_TOKEN,
            UNAVOZ_ADMIN_TOKEN=TOKEN,
        ) as running:
            await standin.wait_for_poller(CUSTOMER_TOKEN, within=10)
            yield running


def texts(bot: Running, chat: int) -> list[str]:
    return [m["text"] for m in bot.standin.messages(chat, CUSTOMER_TOKEN)]


async def subscribe(bot: Running, chats: list[int], postcode: str = "28012") -> None:
    store = bot.app.store
    for chat in chats:
        await store.subscribe("customer", str(chat), places=[Place.postcode(postcode)], locale="es")


async def change_eta(bot: Running, hours: int) -> None:
    change = UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=hours))
    await bot.app.service.apply(change, author="ana", source="cli")


@pytest.mark.parametrize(
    "own",
    [
        when(retry_after(1), method="sendMessage", times=1),
        when(server_error(502, html=True), method="sendMessage", times=2),
        when(reset(), method="sendMessage", times=1),
    ],
    indirect=True,
)
async def test_faults_lose_and_repeat_no_notice(own: Running) -> None:
    await subscribe(own, [ANA, ANA + 1])
    await change_eta(own, 7)
    await own.until(lambda: texts(own, ANA) and texts(own, ANA + 1), within=20)
    await asyncio.sleep(1.5)
    assert len(texts(own, ANA)) == 1 and len(texts(own, ANA + 1)) == 1
    assert own.standin.limit_violations(CUSTOMER_TOKEN) == []


async def test_a_burst_keeps_telegrams_limits(own: Running) -> None:
    chats = [100_000 + n for n in range(45)]
    await subscribe(own, chats)
    # One person asks three things at once: answered a second apart.
    for text in ("28012", "centro", "/mysubscriptions"):
        own.standin.queue_message(ANA, text, user=person(ANA, "Ana"), token=CUSTOMER_TOKEN)
    await change_eta(own, 7)
    await own.until(lambda: all(texts(own, c) for c in chats) and len(texts(own, ANA)) == 3, 20)
    assert own.standin.limit_violations(CUSTOMER_TOKEN) == []
    assert all(len(texts(own, c)) == 1 for c in chats)
    # Nothing reached the staff bot's token.
    assert own.standin.messages(ANA, DEFAULT_TOKEN) == []


async def test_summary_handoffs_console_and_consistency_over_http(own: Running) -> None:
    await subscribe(own, [1, 2], "28013")  # in the centre and in Sol
    await own.app.store.subscribe("customer", "3", places=[Place.area("norte")], locale="en")
    own.standin.queue_message(ANA, "/human", user=person(ANA, "Ana"), token=CUSTOMER_TOKEN)
    await own.until(lambda: texts(own, ANA))
    assert "+34 910 000 010" in texts(own, ANA)[0]
    async with TestClient(TestServer(own.app.http_app())) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/api/v1/subscriptions/summary")).status == 401
        summary = await (await client.get("/api/v1/subscriptions/summary", headers=auth)).json()
        assert summary["by_area"] == {"centro": 2, "norte": 1, "sol": 2}
        assert summary["channels"]["customer"] == {"area:norte": 1, "postcode:28013": 2}
        assert summary["open_handoffs"] == 1
        assert "424242" not in str(summary)  # counts, no chat ids
        [handoff] = (await (await client.get("/api/v1/customer/handoffs", headers=auth)).json())[
            "handoffs"
        ]
        assert handoff["chat"] == str(ANA)
        one = await (await client.get(f"/api/v1/customer/handoffs/{ANA}", headers=auth)).json()
        assert one["messages"][0]["text"] == "/human"
        path = f"/api/v1/customer/handoffs/{ANA}/reply"
        refused = await client.post(path, json={"text": "Ya funciona todo."}, headers=auth)
        assert refused.status == 422 and (await refused.json())["lint"]["findings"]
        sent = await client.post(path, json={"text": "Le llamamos en un rato."}, headers=auth)
        assert sent.status == 202
        await own.until(lambda: len(texts(own, ANA)) == 2)
        assert texts(own, ANA)[1] == "👤 Nuestro equipo: Le llamamos en un rato."
        await client.post("/console/login", data={"token": TOKEN})
        page = await client.get("/console/customer")
        html = await page.text()
        assert page.status == 200 and "Le llamamos en un rato." in html and "norte" in html
        consistency = await (await client.get("/consistency")).json()
        assert "customer" in consistency["channels"]
        closed = await client.post(f"/api/v1/customer/handoffs/{ANA}/close", headers=auth)
        assert closed.status == 200
    assert await own.app.store.handoffs() == []


def test_the_start_up_line() -> None:
    channel = CustomerChannel()
    assert channel.state(Settings.from_env({})) == "off (TELEGRAM_CUSTOMER_TOKEN not set)"
    assert channel.state(Settings.from_env({"TELEGRAM_CUSTOMER_TOKEN": CUSTOMER_TOKEN})) == (
        "on (polling)"
    )
    shared = Settings.from_env(
        {"TELEGRAM_CUSTOMER_TOKEN": DEFAULT_TOKEN, "TELEGRAM_STAFF_TOKEN": DEFAULT_TOKEN}
    )
    assert channel.state(shared) == "on (the staff bot's token: one bot, one poller)"
    assert channel.adapter(Settings.from_env({})) is None
