"""A running Unavoz (in-process) with the staff bot pointed at the Telegram stand-in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.runner import Unavoz
from bot.settings import Settings
from bot.store import open_store
from tests.conftest import NOON
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn

WARDENS = -1_001_000_000_001  # wardens of the centre (permits), escalating to operations
SOL = -1_001_000_000_002  # wardens of Sol, an area inside the centre
FIBRE = -1_001_000_000_003  # fibre technicians of the north: never told about permits
OPERATIONS = -1_001_000_000_009  # no areas, no services: told everything
OPERATOR = 777  # on the allow-list
STRANGER = 888  # not

STAFF = f"""staff_groups:
  - id: wardens-centro
    name: Agentes Centro
    locale: es
    areas: [centro]
    services: [permits]
    telegram_chat_ids: [{WARDENS}]
    escalate_after: PT2M
    escalate_to: operations
  - id: wardens-sol
    name: Agentes Sol
    locale: es
    areas: [sol]
    telegram_chat_ids: [{SOL}]
  - id: fibre-norte
    name: Fibra Norte
    areas: [norte]
    services: [fibre]
    telegram_chat_ids: [{FIBRE}]
  - id: operations
    name: Operations
    locale: en
    telegram_chat_ids: [{OPERATIONS}]
channels:
  staff:
    options:
      operators: [{OPERATOR}]
"""


def staff_feed(text: str) -> str:
    return text + STAFF


@dataclass
class Running:
    app: Unavoz
    standin: TelegramStandIn
    clock: FrozenClock
    feed: Path

    def texts(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.standin.messages(chat_id)]

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return self.standin.messages(chat_id)

    async def until(self, check: Callable[[], object], within: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not check():
            if loop.time() > deadline:
                raise AssertionError("the stand-in never got there")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_unavoz(
    feed: Path, database: str, standin: TelegramStandIn, **env: str
) -> AsyncIterator[Running]:
    settings = Settings.from_env(
        {
            "UNAVOZ_FEED": str(feed),
            "UNAVOZ_DATABASE_URL": database,
            "TELEGRAM_STAFF_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": standin.url,
            **env,
        }
    )
    clock = FrozenClock(NOON)
    async with open_store(database) as store:
        app = Unavoz.build(settings, store, clock=clock)
        stop = asyncio.Event()
        task = asyncio.create_task(app.run(stop))
        try:
            yield Running(app, standin, clock, feed)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def standin() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as running:
        for chat in (WARDENS, SOL, FIBRE, OPERATIONS):
            running.add_chat(chat)
        yield running


@pytest.fixture
async def unavoz(
    feed_file: Path, tmp_path: Path, standin: TelegramStandIn
) -> AsyncIterator[Running]:
    feed_file.write_text(staff_feed(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    async with running_unavoz(feed_file, f"sqlite:///{tmp_path}/unavoz.db", standin) as running:
        yield running
