"""The console's reply box: its script, and its call to the lint with the console session."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]
TOKEN = "console-token"


@pytest.fixture
async def client(aiohttp_client: MakeClient, service: FeedService) -> Client:
    return await aiohttp_client(create_app(service, Settings(admin_token=TOKEN)))


async def sign_in(client: Client) -> str:
    response = await client.post("/console/login", data={"token": TOKEN})
    html = await response.text()
    match = re.search(r'<section id="lint" data-csrf="([0-9a-f]+)"', html)
    assert match, "the console has the reply box"
    return match.group(1)


async def test_the_console_page_may_run_its_one_script(client: Client) -> None:
    await sign_in(client)
    page = await client.get("/console")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1]
    assert '<script src="/console/lint.js" defer></script>' in await page.text()
    script = await client.get("/console/lint.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    code = await script.text()
    assert "innerHTML" not in code and "textContent" in code  # typed text is never HTML


async def test_the_box_lints_with_the_console_session(client: Client) -> None:
    csrf = await sign_in(client)
    body = {"text": "Ya está solucionado", "incident": "permits-down"}
    response = await client.post("/api/v1/lint", json=body, headers={"X-Unavoz-CSRF": csrf})
    assert response.status == 200
    assert [f["kind"] for f in (await response.json())["findings"]] == ["resolved"]


async def test_the_session_alone_reaches_nothing_else(client: Client) -> None:
    csrf = await sign_in(client)
    without_csrf = await client.post("/api/v1/lint", json={"text": "hola"})
    assert without_csrf.status == 401
    forged = await client.post(
        "/api/v1/lint", json={"text": "hola"}, headers={"X-Unavoz-CSRF": "0"}
    )
    assert forged.status == 401
    feed = await client.get("/api/v1/feed", headers={"X-Unavoz-CSRF": csrf})
    assert feed.status == 401


async def test_signing_out_ends_the_box_too(client: Client) -> None:
    csrf = await sign_in(client)
    await client.post("/console/logout")
    response = await client.post(
        "/api/v1/lint", json={"text": "hola"}, headers={"X-Unavoz-CSRF": csrf}
    )
    assert response.status == 401
