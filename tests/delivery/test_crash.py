"""Killed at random points during fan-outs of thousands, restarted: nothing lost, nothing twice.

`unavoz run` is a real process here, SIGKILLed mid-flight again and again while
the feed changes; the receiver is a stand-in in this test's process. At the end
every target must hold the latest revision of every incident, changes must have
arrived in order, and the only repeats allowed are the requests that were in
flight at a kill (sent again under the same Idempotency-Key, applied once).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.store import open_store
from tests.delivery.conftest import many_incidents, with_webhooks
from tests.standins.webhook import WebhookStandIn

pytestmark = pytest.mark.timeout(240)

TARGETS = 24
EXTRA = 48  # open incidents: (48 + 2) × 24 targets = 1,200 deliveries a revision
IN_FLIGHT = 3 * 64  # workers × concurrency of the webhook channel: the most a kill interrupts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed_text(base: str, urls: list[str], version: int) -> str:
    text = many_incidents(base, EXTRA).replace(
        "next_update_by: 2026-11-24T14:00:00+01:00",
        f"next_update_by: 2026-11-24T14:{version:02d}:00+01:00",
    )
    return with_webhooks(text, urls)


def write_like_an_editor(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".swp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


class Instance:
    def __init__(self, feed: Path, database: str, port: int, log: Path) -> None:
        env = {
            **os.environ,
            "UNAVOZ_DATABASE_URL": database,
            "UNAVOZ_LOG_LEVEL": os.environ.get("UNAVOZ_TEST_LOG_LEVEL", "WARNING"),
            # The test feeds' day, whatever today is: its promises (14:30, 18:00) still ahead.
            "UNAVOZ_NOW": os.environ.get("UNAVOZ_NOW", "2026-11-24T12:00:00+01:00"),
        }
        self.port = port
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--feed", str(feed), "--port", str(port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def get(self, path: str) -> dict[str, object] | None:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    f"http://127.0.0.1:{self.port}{path}", timeout=aiohttp.ClientTimeout(total=2)
                ) as response,
            ):
                if response.status != 200:  # 503 while starting: not up yet
                    return None
                return await response.json()  # type: ignore[no-any-return]
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def wait_up(self) -> None:
        for _ in range(300):
            if await self.get("/healthz"):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("unavoz run did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self.log.close()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()  # never leave a server behind a failed test
            raise
        finally:
            self.log.close()
        return code


async def wait_in_sync(instance: Instance, revision: int, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    report: dict[str, object] | None = None
    while loop.time() < deadline:
        report = await instance.get("/consistency")
        if report and report["revision"] == revision and report["in_sync"]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not in sync within {within} s: {json.dumps(report)}")


async def test_sigkill_during_fan_outs_loses_nothing_and_sends_nothing_twice(
    feed_file: Path, tmp_path: Path
) -> None:
    standin = await WebhookStandIn(delay=0.002).start()
    rng = random.Random(20261124)
    urls = [standin.url(f"t{n}") for n in range(TARGETS)]
    base = feed_file.read_text(encoding="utf-8")
    database = f"sqlite:///{tmp_path}/crash.db"
    write_like_an_editor(feed_file, feed_text(base, urls, 0))
    kills = 0
    try:
        for version in range(1, 9):
            instance = Instance(feed_file, database, free_port(), tmp_path / "run.log")
            await instance.wait_up()
            # A new revision while the previous fan-out may still be going.
            write_like_an_editor(feed_file, feed_text(base, urls, version))
            await asyncio.sleep(rng.uniform(0.05, 1.2))
            instance.kill()
            kills += 1
        final = Instance(feed_file, database, free_port(), tmp_path / "run.log")
        try:
            await final.wait_up()
            async with open_store(database) as store:
                latest = await store.latest_revision()
            assert latest is not None
            await wait_in_sync(final, latest.number)
        finally:
            assert final.stop() == 0
    finally:
        await standin.stop()

    latest_told = standin.latest()
    assert len(latest_told) == TARGETS * (EXTRA + 2)
    for (target, incident), received in latest_told.items():
        if incident.startswith("extra-"):
            assert received.body["next_update_by"] == "2026-11-24T14:08:00+01:00", (
                target,
                incident,
            )
    assert standin.in_order()
    assert standin.raw_duplicates() <= kills * IN_FLIGHT
    with sqlite3.connect(tmp_path / "crash.db") as db:
        states = dict(db.execute("SELECT idempotency_key, state FROM deliveries").fetchall())
    assert set(states.values()) <= {"sent", "superseded"}
    sent = {key for key, state in states.items() if state == "sent"}
    assert sent <= set(standin.applied)  # everything recorded as sent was received
    # Received but not recorded as sent: in flight at a kill, then replaced by a newer revision.
    unrecorded = set(standin.applied) - sent
    assert all(states[key] == "superseded" for key in unrecorded)
    assert len(unrecorded) <= kills * IN_FLIGHT
    assert len(states) >= 2_000  # thousands were fanned out
