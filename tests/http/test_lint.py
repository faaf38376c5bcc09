"""POST /api/v1/lint: the claims lint behind the admin token, and its OpenAPI entry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings
from bot.store import open_store
from tests.conftest import NOON

TOKEN = "lint-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def service(feed_file: Path, tmp_path: Path) -> AsyncIterator[FeedService]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as store:
        service = FeedService(feed_file, store, clock=lambda: NOON)
        await service.start()
        yield service


@pytest.fixture
async def client(aiohttp_client: MakeClient, service: FeedService) -> Client:
    return await aiohttp_client(create_app(service, Settings(admin_token=TOKEN)))


async def lint(client: Client, body: Any, headers: dict[str, str] = AUTH) -> tuple[int, Any]:
    response = await client.post("/api/v1/lint", json=body, headers=headers)
    return response.status, await response.json()


async def test_a_contradicting_reply_is_blocked(client: Client) -> None:
    text = "Hola! Estará arreglado a las 20:00 👍"
    status, body = await lint(client, {"text": text, "incident": "permits-down"})
    assert status == 200
    assert body["ok"] is False
    [finding] = body["findings"]
    assert finding == {
        "kind": "eta",
        "start": 23,
        "end": 34,
        "claim": "a las 20:00",
        "feed_says": "Hora estimada de solución: hoy a las 18:00",
        "suggestion": "hoy a las 18:00",
        "blocks": True,
    }
    assert text[finding["start"] : finding["end"]] == finding["claim"]


async def test_a_reply_restating_the_feed_passes(client: Client) -> None:
    body = {"text": "ETA 6pm #permits 🙏", "postcode": "28013", "locale": "en"}
    status, answer = await lint(client, body)
    assert (status, answer["ok"], answer["findings"]) == (200, True, [])
    assert answer["incidents"] == ["permits-down"]


async def test_at_checks_as_of_another_time(client: Client) -> None:
    body = {"text": "Fixed!", "incident": "permits-down", "at": "2026-11-24T19:00:00+01:00"}
    status, answer = await lint(client, body)
    assert status == 200 and answer["findings"][0]["kind"] == "resolved"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"text": ""}, 422, "the text is empty"),
        ({"text": "x" * 100_000}, 422, "100,000 characters"),
        ({"text": "hola", "incident": "nope"}, 422, "unknown incident 'nope'"),
        ({"text": "hola", "area": "mars"}, 422, "unknown area 'mars'"),
        ({"text": "hola", "at": "yesterday-ish"}, 422, "cannot read the time"),
        ({"text": "hola", "locale": "fr"}, 422, "invalid request"),
        ({"text": 5}, 422, "invalid request"),
        ({"txt": "hola"}, 422, "invalid request"),
        (["hola"], 400, "JSON object"),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    client: Client, body: Any, status: int, message: str
) -> None:
    got, answer = await lint(client, body)
    assert got == status and message in str(answer), answer


async def test_not_json_is_400(client: Client) -> None:
    response = await client.post("/api/v1/lint", data=b"{nope", headers=AUTH)
    assert response.status == 400


async def test_the_lint_needs_the_token(client: Client) -> None:
    status, _ = await lint(client, {"text": "hola"}, headers={})
    assert status == 401
    status, _ = await lint(client, {"text": "hola"}, headers={"Authorization": "Bearer nope"})
    assert status == 401


async def test_openapi_describes_the_lint(client: Client) -> None:
    spec = yaml.safe_load(await (await client.get("/api/v1/openapi.yaml")).text())
    post = spec["paths"]["/lint"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "LintRequest"
    )
    assert set(spec["components"]["schemas"]["Finding"]["required"]) == {
        "kind", "start", "end", "claim", "feed_says", "suggestion", "blocks"
    }  # fmt: skip
    assert "text" in spec["components"]["schemas"]["LintRequest"]["properties"]
