"""Delivery fixtures: a stand-in receiver and a feed whose webhooks point at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store, open_store
from tests.standins.webhook import WebhookStandIn


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An empty SQLite store of the test's own."""
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as opened:
        yield opened


@pytest.fixture
async def standin() -> AsyncIterator[WebhookStandIn]:
    server = await WebhookStandIn().start()
    yield server
    await server.stop()


def with_webhooks(text: str, urls: list[str]) -> str:
    listed = "".join(f"        - {url}\n" for url in urls)
    return f"{text}channels:\n  webhook:\n    options:\n      urls:\n{listed}"


def many_incidents(text: str, count: int) -> str:
    """The small feed with `count` more open incidents, for fan-outs of thousands."""
    extra = "".join(
        f"""  - id: extra-{n}
    title: {{es: Fallo {n}, en: Failure {n}}}
    summary: {{es: Sin servicio {n}., en: No service {n}.}}
    status: investigating
    services: [permits]
    areas: [sol]
    started_at: 2026-11-24T08:00:00+01:00
    next_update_by: 2026-11-24T14:00:00+01:00
"""
        for n in range(count)
    )
    return text.replace("  - id: fibre-works\n", extra + "  - id: fibre-works\n", 1)


@pytest.fixture
def webhook_feed(feed_file: Path, standin: WebhookStandIn) -> Path:
    text = feed_file.read_text(encoding="utf-8")
    feed_file.write_text(with_webhooks(text, [standin.url(f"t{n}") for n in range(3)]), "utf-8")
    return feed_file
