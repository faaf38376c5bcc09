"""Two `unavoz run` instances on one PostgreSQL with the customer bot: a subscriber hears of
a change once, and of the resolution once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.delivery.test_crash import Instance, free_port, write_like_an_editor
from tests.pg import fresh_postgres
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn, person

pytestmark = pytest.mark.timeout(150)
ANA = 424242
RESOLVED = (
    "    status: resolved\n    resolved_at: 2026-11-24T12:00:00+01:00\n"
    "    resolution: {es: Ya funciona., en: It works again.}\n"
)


async def until(check: Callable[[], object], within: float = 40.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("the stand-in never got there")
        await asyncio.sleep(0.05)


async def test_two_instances_notify_a_subscriber_once_per_change(
    feed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_CUSTOMER_TOKEN", DEFAULT_TOKEN)
    monkeypatch.delenv("TELEGRAM_STAFF_TOKEN", raising=False)
    async with TelegramStandIn() as standin, fresh_postgres() as database:
        monkeypatch.setenv("TELEGRAM_API_URL", standin.url)

        def texts() -> list[str]:
            return [m["text"] for m in standin.messages(ANA)]

        first = Instance(feed_file, database, free_port(), tmp_path / "a.log")
        await first.wait_up()
        second = Instance(feed_file, database, free_port(), tmp_path / "b.log")
        try:
            await second.wait_up()
            standin.queue_message(ANA, "/subscribe 28012", user=person(ANA, language_code="es"))
            await until(lambda: texts())
            told = len(texts())
            # A new ETA, seen by both instances: one notice.
            text = feed_file.read_text(encoding="utf-8")
            write_like_an_editor(feed_file, text.replace("T18:00:00+01:00", "T20:00:00+01:00", 1))
            await until(lambda: len(texts()) > told)
            await asyncio.sleep(2.0)  # time for a second notice, were there one
            assert len(texts()) == told + 1
            # The resolution: one "fixed" notice.
            text = feed_file.read_text(encoding="utf-8")
            write_like_an_editor(feed_file, text.replace("    status: identified\n", RESOLVED, 1))
            await until(lambda: len(texts()) > told + 1)
            await asyncio.sleep(2.0)
            assert len(texts()) == told + 2
            assert "✅" in texts()[-1]
        finally:
            assert first.stop() == 0
            assert second.stop() == 0
