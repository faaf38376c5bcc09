"""Health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings
from bot.store import open_store

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture
async def service(feed_file: Path, tmp_path: Path) -> AsyncIterator[FeedService]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as store:
        yield FeedService(feed_file, store)


async def test_healthz_says_starting_until_a_revision_is_told(
    aiohttp_client: MakeClient, service: FeedService
) -> None:
    client = await aiohttp_client(create_app(service, Settings()))
    assert (await client.get("/healthz")).status == 503
    await service.start()
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "revision": 1, "feed_valid": True}


async def test_metrics_are_prometheus_text(
    aiohttp_client: MakeClient, service: FeedService
) -> None:
    await service.start()
    client = await aiohttp_client(create_app(service, Settings()))
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert "unavoz_feed_revision 1.0" in text
    assert 'unavoz_http_request_seconds_count{method="GET",route="/healthz",status="200"}' in text


async def test_health_says_what_is_true_now_after_an_invalid_edit(
    aiohttp_client: MakeClient, service: FeedService
) -> None:
    from bot.feed.changes import UpdateIncident
    from bot.feed.yamlsource import FeedError

    await service.start()
    client = await aiohttp_client(create_app(service, Settings()))
    good = service.feed_path.read_text(encoding="utf-8")
    service.feed_path.write_text(good.replace("severity: major", "severity: awful"), "utf-8")
    with pytest.raises(FeedError):
        await service.reload_from_file()
    health = await (await client.get("/healthz")).json()
    assert health["feed_valid"] is False and ":37:" in health["feed_problems"][0]
    service.feed_path.write_text(good, "utf-8")  # restored byte for byte
    await service.reload_from_file()
    assert (await (await client.get("/healthz")).json())["feed_valid"] is True
    service.feed_path.write_text(good.replace("severity: major", "severity: awful"), "utf-8")
    with pytest.raises(FeedError):
        await service.reload_from_file()
    service.feed_path.write_text(good, "utf-8")
    # A valid change through the API, with no reload of the restored file in between.
    await service.apply(
        UpdateIncident(id="permits-down", severity="minor"), author="ana", source="api"
    )
    assert (await (await client.get("/healthz")).json())["feed_valid"] is True
