"""Two `unavoz run` instances on one PostgreSQL with the staff bot: each alert once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.channels.telegram.conftest import OPERATIONS, SOL, WARDENS, staff_feed
from tests.delivery.test_crash import Instance, free_port, write_like_an_editor
from tests.pg import fresh_postgres
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn

pytestmark = pytest.mark.timeout(120)


def sent(standin: TelegramStandIn) -> Counter[tuple[int, str]]:
    """(chat, text) of every sendMessage that Telegram accepted."""
    return Counter(
        (int(call.params["chat_id"]), str(call.params.get("text", "")))
        for call in standin.calls_to("sendMessage")
        if call.status == 200
    )


async def settle(standin: TelegramStandIn, expected: int, within: float = 40.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if sum(sent(standin).values()) >= expected:
            await asyncio.sleep(1.0)  # time for a duplicate, were there one
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {sum(sent(standin).values())} of {expected} alerts arrived")


async def test_two_instances_send_each_staff_alert_once(
    feed_file: Path, tmp_path: Path, standin: TelegramStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_like_an_editor(feed_file, staff_feed(feed_file.read_text(encoding="utf-8")))
    monkeypatch.setenv("TELEGRAM_STAFF_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", standin.url)
    async with fresh_postgres() as database:
        first = Instance(feed_file, database, free_port(), tmp_path / "a.log")
        await first.wait_up()
        second = Instance(feed_file, database, free_port(), tmp_path / "b.log")
        try:
            await second.wait_up()
            # The open incident (permits in the centre) reaches the centre's and Sol's wardens
            # and operations.
            await settle(standin, 3)
            first_round = sent(standin)
            assert {chat for chat, _text in first_round} >= {WARDENS, SOL, OPERATIONS}
            # A change: both instances see the revision; each chat gets one new alert.
            text = feed_file.read_text(encoding="utf-8")
            write_like_an_editor(
                feed_file, text.replace("severity: major", "severity: critical", 1)
            )
            await settle(standin, sum(first_round.values()) + 3)
        finally:
            assert first.stop() == 0
            assert second.stop() == 0
    repeated = [key for key, count in sent(standin).items() if count > 1]
    assert repeated == [], repeated
