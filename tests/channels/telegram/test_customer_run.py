"""`unavoz run` as a real process with the customer bot on the stand-in: asking in both
languages, subscribing, a notice on a change and on resolution exactly once across a SIGKILL
and a restart, a blocked chat, a hand-off round trip through the admin API, /forget; changes
made by the CLI while the server was down, each told at its restart; a language chosen
without subscribing, kept across a restart; and, without a token, one line saying the channel
is off."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.delivery.test_crash import Instance, free_port
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn, person

pytestmark = pytest.mark.timeout(150)

ANA, JOHN, LUIS = 424242, 515151, 626262
ADMIN = "run-secret"
RESOLVED = (
    "    status: resolved\n    resolved_at: 2026-11-24T12:00:00+01:00\n"
    "    resolution: {es: Ya funciona., en: It works again.}\n"
)


async def until(check: Callable[[], object], within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("the stand-in never got there")
        await asyncio.sleep(0.05)


async def admin(instance: Instance, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            f"http://127.0.0.1:{instance.port}{path}",
            json=body,
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as response,
    ):
        return response.status, await response.json()


async def test_the_customer_bot_through_unavoz_run(
    feed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_CUSTOMER_TOKEN", DEFAULT_TOKEN)
    monkeypatch.delenv("TELEGRAM_STAFF_TOKEN", raising=False)
    monkeypatch.setenv("UNAVOZ_ADMIN_TOKEN", ADMIN)
    monkeypatch.setenv("UNAVOZ_TEST_LOG_LEVEL", "INFO")
    database = f"sqlite:///{tmp_path}/run.db"
    log = tmp_path / "run.log"
    async with TelegramStandIn() as standin:
        monkeypatch.setenv("TELEGRAM_API_URL", standin.url)

        def texts(chat: int) -> list[str]:
            return [m["text"] for m in standin.messages(chat)]

        def say(chat: int, text: str, language: str = "es") -> None:
            standin.queue_message(chat, text, user=person(chat, language_code=language))

        first = Instance(feed_file, database, free_port(), log)
        try:
            await first.wait_up()
            say(ANA, "no puedo renovar el permiso en 28012")
            say(JOHN, "city centre", "en")
            await until(lambda: texts(ANA) and texts(JOHN))
            assert texts(ANA)[0].startswith("Renovación de permisos caída")
            assert texts(JOHN)[0].startswith("Permit renewal down")
            standin.press_button(ANA, standin.messages(ANA)[0]["message_id"], "s:postcode:28012")
            say(JOHN, "/subscribe 28013", "en")
            say(LUIS, "/subscribe centro")
            await until(lambda: len(texts(ANA)) == 2 and len(texts(JOHN)) == 2 and texts(LUIS))
            standin.kick(LUIS)
            feed_file.write_text(
                feed_file.read_text(encoding="utf-8").replace("T18:00:00", "T20:00:00"),
                encoding="utf-8",
            )
            await until(lambda: len(texts(ANA)) == 3 and len(texts(JOHN)) == 3)
            assert texts(ANA)[2].startswith("🔔 Actualización") and "20:00" in texts(ANA)[2]
            for _ in range(100):
                status, summary = await admin(first, "GET", "/api/v1/subscriptions/summary")
                if summary["channels"]["customer"].get("area:centro") is None:
                    break  # Luis blocked the bot: his subscription ended
                await asyncio.sleep(0.1)
            assert status == 200 and "area:centro" not in summary["channels"]["customer"]
        finally:
            first.kill()
        # Resolved while nobody runs: told at the restart, once; the ETA change not again.
        feed_file.write_text(
            feed_file.read_text(encoding="utf-8").replace("    status: identified\n", RESOLVED, 1),
            encoding="utf-8",
        )
        second = Instance(feed_file, database, free_port(), log)
        try:
            await second.wait_up()
            await until(lambda: len(texts(ANA)) == 4 and len(texts(JOHN)) == 4)
            assert texts(ANA)[3].startswith("✅ Solucionado")
            assert texts(JOHN)[3].startswith("✅ Fixed")
            say(ANA, "/human")
            await until(lambda: len(texts(ANA)) == 5)
            assert "+34 910 000 010" in texts(ANA)[4]
            status, _ = await admin(
                second,
                "POST",
                f"/api/v1/customer/handoffs/{ANA}/reply",
                {"text": "Seguimos trabajando en ello."},
            )
            assert status == 422  # "still working on it" contradicts the resolution
            status, _ = await admin(
                second,
                "POST",
                f"/api/v1/customer/handoffs/{ANA}/reply",
                {"text": "Le llamo ahora mismo."},
            )
            assert status == 202
            await until(lambda: len(texts(ANA)) == 6)
            assert texts(ANA)[5] == "👤 Nuestro equipo: Le llamo ahora mismo."
            say(ANA, "/forget")
            await until(lambda: len(texts(ANA)) == 7)
            _, summary = await admin(second, "GET", "/api/v1/subscriptions/summary")
            assert summary["channels"]["customer"] == {"postcode:28013": 1}
            await asyncio.sleep(1.0)
        finally:
            assert second.stop() == 0
        notices = ("🔔 Actualización", "✅ Solucionado")
        assert [t for t in texts(ANA) if t.startswith(notices)] == texts(ANA)[2:4]
        assert standin.limit_violations() == []
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text
    assert "customer bot (Telegram): on (polling)" in text


async def test_without_a_token_the_channel_is_off_in_one_line(
    feed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_CUSTOMER_TOKEN", raising=False)
    monkeypatch.delenv("TELEGRAM_STAFF_TOKEN", raising=False)
    monkeypatch.setenv("UNAVOZ_TEST_LOG_LEVEL", "INFO")
    log = tmp_path / "off.log"
    instance = Instance(feed_file, f"sqlite:///{tmp_path}/off.db", free_port(), log)
    try:
        await instance.wait_up()
    finally:
        assert instance.stop() == 0
    lines = [
        line for line in log.read_text(encoding="utf-8").splitlines() if "customer bot" in line
    ]
    assert len(lines) == 1 and lines[0].endswith(
        "customer bot (Telegram): off (TELEGRAM_CUSTOMER_TOKEN not set)"
    )


def cli(feed: Path, database: str, *args: str) -> None:
    """`unavoz incident …` as an operator runs it, while no server runs."""
    env = {**os.environ, "UNAVOZ_DATABASE_URL": database, "UNAVOZ_NOW": "2026-11-24T12:05:00+01:00"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "incident", *args, "--feed", str(feed), "--author", "ana"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def test_changes_made_while_the_server_was_down_are_each_told_and_a_language_is_kept(
    feed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_CUSTOMER_TOKEN", DEFAULT_TOKEN)
    monkeypatch.delenv("TELEGRAM_STAFF_TOKEN", raising=False)
    monkeypatch.setenv("TELEGRAM_RATE", "0/1")
    database = f"sqlite:///{tmp_path}/run.db"
    log = tmp_path / "run.log"
    async with TelegramStandIn() as standin:
        monkeypatch.setenv("TELEGRAM_API_URL", standin.url)

        def texts(chat: int) -> list[str]:
            return [m["text"] for m in standin.messages(chat)]

        def say(chat: int, text: str) -> None:
            standin.queue_message(chat, text, user=person(chat, language_code="es"))

        first = Instance(feed_file, database, free_port(), log)
        try:
            await first.wait_up()
            say(ANA, "/subscribe 28012")
            say(LUIS, "/language en")  # not subscribed: only his language is kept
            await until(lambda: texts(ANA) and texts(LUIS))
            assert texts(LUIS) == ["I will speak English from now on."]
        finally:
            assert first.stop() == 0
        # Two changes by the CLI while nobody runs: a new incident there, then the other
        # one resolved. Each is a revision; the server adopts only the latest at start.
        cli(feed_file, database, "open", "water-cut", "--service", "permits", "--area", "centro",
            "--title", "es=Corte de agua", "--title", "en=Water cut", "--next-update", "+1h",
            "--summary", "es=Sin agua.", "--summary", "en=No water.")  # fmt: skip
        cli(feed_file, database, "resolve", "permits-down",
            "--message", "es=Ya funciona.", "--message", "en=It works again.")  # fmt: skip
        second = Instance(feed_file, database, free_port(), log)
        try:
            await second.wait_up()
            await until(lambda: len(texts(ANA)) == 3)
            say(LUIS, "28012")
            await until(lambda: len(texts(LUIS)) == 2)
            say(LUIS, "/forget")
            await until(lambda: len(texts(LUIS)) == 3)
            say(LUIS, "28012")
            await until(lambda: len(texts(LUIS)) == 4)
        finally:
            assert second.stop() == 0
        new, fixed = texts(ANA)[1:]
        assert new.startswith("⚠️ Nuevo aviso") and "Corte de agua" in new
        assert fixed.startswith("✅ Solucionado") and "Renovación de permisos" in fixed
        # His language outlived the restart, and /forget deleted it: Telegram's again.
        assert "Water cut" in texts(LUIS)[1]
        assert texts(LUIS)[2].startswith("I deleted everything")
        assert "Corte de agua" in texts(LUIS)[3]
    with sqlite3.connect(tmp_path / "run.db") as db:
        assert db.execute("SELECT count(*) FROM chat_languages").fetchone() == (0,)
    assert "Traceback" not in log.read_text(encoding="utf-8")
