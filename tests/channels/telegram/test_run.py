"""`unavoz run` as a real process with the staff bot on the stand-in: an alert, a SIGKILL while
its escalation is pending, a restart — repeated once, escalated once, nothing sent twice; and
an operator's conversation killed half-way and finished after the restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.channels.telegram.conftest import OPERATIONS, OPERATOR, WARDENS, staff_feed
from tests.delivery.test_crash import Instance, free_port
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn, person

pytestmark = pytest.mark.timeout(120)


async def until(check: object, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("the stand-in never got there")
        await asyncio.sleep(0.05)


async def test_a_pending_escalation_survives_a_kill_and_happens_once(
    feed_file: Path,
    tmp_path: Path,
    standin: TelegramStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = staff_feed(feed_file.read_text(encoding="utf-8")).replace(
        "escalate_after: PT2M", "escalate_after: PT3S"
    )
    feed_file.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TELEGRAM_STAFF_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", standin.url)
    database = f"sqlite:///{tmp_path}/run.db"

    def texts(chat: int) -> list[str]:
        return [m["text"] for m in standin.messages(chat)]

    first = Instance(feed_file, database, free_port(), tmp_path / "run.log")
    try:
        await first.wait_up()
        await until(lambda: texts(WARDENS))
        # Killed once the alert is recorded, while only its escalation is pending (a kill
        # between Telegram's answer and the record is another matter: Telegram keeps no
        # idempotency key, so that send would be repeated).
        for _ in range(200):
            report = await first.get("/consistency")
            if report and report["channels"].get("staff", {}).get("state") == "in_sync":
                break
            await asyncio.sleep(0.05)
    finally:
        first.kill()  # the escalation is pending, 3 s away
    second = Instance(feed_file, database, free_port(), tmp_path / "run.log")
    try:
        await second.wait_up()
        await until(lambda: any(t.startswith("⏰") for t in texts(OPERATIONS)))
        await asyncio.sleep(6)  # a further round of the escalation job: nothing more
        consistency = await second.get("/consistency")
    finally:
        assert second.stop() == 0
    wardens = texts(WARDENS)
    assert len(wardens) == 2 and wardens[1].startswith("🔁"), wardens  # the alert, repeated once
    assert sum(t.startswith("⏰") for t in texts(OPERATIONS)) == 1
    assert consistency is not None and consistency["channels"]["staff"]["state"] == "in_sync"
    log = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert "Traceback" not in log


async def test_an_operators_conversation_goes_on_after_a_restart(
    feed_file: Path,
    tmp_path: Path,
    standin: TelegramStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_file.write_text(staff_feed(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    monkeypatch.setenv("TELEGRAM_STAFF_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", standin.url)
    monkeypatch.setenv("TELEGRAM_RATE", "0/1")
    database = f"sqlite:///{tmp_path}/run.db"
    marta = person(OPERATOR, "Marta", language_code="en")

    def last() -> dict[str, Any]:
        return standin.messages(OPERATOR)[-1]

    async def answered(count: int) -> str:
        await until(lambda: len(standin.messages(OPERATOR)) > count)
        return str(last()["text"])

    async def press(label: str) -> str:
        count, message = len(standin.messages(OPERATOR)), last()
        rows = message["reply_markup"]["inline_keyboard"]
        data = next(b["callback_data"] for row in rows for b in row if b["text"] == label)
        standin.press_button(OPERATOR, message["message_id"], data, user=marta)
        return await answered(count)

    async def say(text: str) -> str:
        count = len(standin.messages(OPERATOR))
        standin.queue_message(OPERATOR, text, user=marta)
        return await answered(count)

    first = Instance(feed_file, database, free_port(), tmp_path / "run.log")
    try:
        await first.wait_up()
        assert await say("/update") == "Which incident?"
        assert await press("Permit renewal down") == "Status?"
        assert await press("monitoring") == "Type what changed in español: (or “-” for none)"
    finally:
        first.kill()  # mid-conversation
    second = Instance(feed_file, database, free_port(), tmp_path / "run.log")
    try:
        await second.wait_up()
        assert await say("Ya funciona en pruebas.") == (
            "Type what changed in English: (or “-” for none)"
        )
        await say("Working in tests.")
        await say("-")
        assert (await say("-")).startswith("This is what every channel will say.")
        assert (await press("Confirm")).startswith("Done: revision 2, by telegram:777 (Marta)")
    finally:
        assert second.stop() == 0
    assert "status: monitoring" in feed_file.read_text(encoding="utf-8")
    assert "Working in tests." in feed_file.read_text(encoding="utf-8")
