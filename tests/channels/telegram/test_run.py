"""`unavoz run` as a real process with the staff bot on the stand-in: an alert, a SIGKILL while
its escalation is pending, a restart — repeated once, escalated once, nothing sent twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.channels.telegram.conftest import OPERATIONS, WARDENS, staff_feed
from tests.delivery.test_crash import Instance, free_port
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn

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
