"""The X channel wired as `unavoz run` wires it, in this process, against the X stand-in."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.runner import Unavoz
from bot.settings import Settings
from bot.store import Store, open_store
from channels.x import XAdapter
from tests.conftest import NOON, SMALL_FEED
from tests.standins.x import XStandIn

X_OPTIONS = "channels:\n  x:\n    options:\n      handle: unavoz_status\n"


def x_feed(extra: str = "") -> str:
    return SMALL_FEED.read_text(encoding="utf-8") + X_OPTIONS + extra


@dataclass
class XHarness:
    """Unavoz with its X channel: step the engine and the poller by hand."""

    app: Unavoz
    standin: XStandIn
    store: Store
    now: dt.datetime = NOON

    def clock(self) -> dt.datetime:
        return self.now

    @property
    def adapter(self) -> XAdapter:
        return next(a for a in self.app.adapters if isinstance(a, XAdapter))

    async def drain(self, rounds: int = 10) -> int:
        """Deliver what is due now, round after round (a thread's posts go one at a time)."""
        total = 0
        for _ in range(rounds):
            sent = await self.app.engine.drain_once("x")
            total += sent
            if not sent:
                break
        return total

    async def poll(self) -> float:
        return await self.adapter.poll(self.app.context.dispatcher)

    def texts(self) -> list[str]:
        return [post.text for post in self.standin.posts()]


def x_environment(standin: XStandIn, tmp_path: Path, feed: Path) -> dict[str, str]:
    return {
        **standin.credentials.environment(),
        "X_API_URL": standin.url,
        "UNAVOZ_FEED": str(feed),
        "UNAVOZ_DATABASE_URL": f"sqlite:///{tmp_path}/unavoz.db",
        "UNAVOZ_ADMIN_TOKEN": "admin-token",
    }


@pytest.fixture
def feed_extra() -> str:
    return ""


@pytest.fixture
async def standin() -> AsyncIterator[XStandIn]:
    async with XStandIn() as running:
        yield running


@pytest.fixture
async def x(standin: XStandIn, tmp_path: Path, feed_extra: str) -> AsyncIterator[XHarness]:
    feed = tmp_path / "status_feed.yaml"
    feed.write_text(x_feed(feed_extra), encoding="utf-8")
    settings = Settings.from_env(x_environment(standin, tmp_path, feed))
    async with open_store(settings.database_url) as store:
        harness = XHarness(None, standin, store)  # type: ignore[arg-type]
        app = harness.app = Unavoz.build(settings, store, clock=harness.clock)
        await app.service.start()
        for adapter in app.adapters:
            await adapter.start()
        try:
            yield harness
        finally:
            for adapter in app.adapters:
                await adapter.stop()
