"""The operators' console over HTTP: token, cookie, CSRF, forms that change the feed."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings
from tests.conftest import HOSTILE, NOON

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]
TOKEN = "console-token"


@pytest.fixture
async def client(aiohttp_client: MakeClient, service: FeedService) -> Client:
    return await aiohttp_client(
        create_app(service, Settings(admin_token=TOKEN), channels=["webhook"])
    )


async def sign_in(client: Client) -> str:
    response = await client.post("/console/login", data={"token": TOKEN})
    assert response.status == 200  # followed the redirect to the console
    html = await response.text()
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


async def test_the_console_needs_the_token(client: Client) -> None:
    page = await (await client.get("/console")).text()
    assert 'name="token"' in page and "Open incidents" not in page
    wrong = await client.post("/console/login", data={"token": "nope"})
    assert wrong.status == 401
    forged = await client.post("/console/incidents/permits-down/resolve", data={"csrf": "x"})
    assert forged.status == 401


async def test_the_console_is_off_without_a_token(
    aiohttp_client: MakeClient, service: FeedService
) -> None:
    client = await aiohttp_client(create_app(service, Settings(admin_token=None)))
    assert (await client.get("/console")).status == 403


async def test_the_console_shows_every_channel_escaped(client: Client) -> None:
    await sign_in(client)
    html = await (await client.get("/console")).text()
    assert "<script>alert(2)</script>" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    for channel in ("ivr", "web", "x", "staff", "customer"):
        assert f"<td>{channel}</td>" in html
    assert 'class="in_sync"' in html  # the webhook channel, with nothing to tell


async def test_forms_change_the_feed_and_refuse_forgeries(
    client: Client, service: FeedService
) -> None:
    csrf = await sign_in(client)
    forged = await client.post(
        "/console/incidents/permits-down/update", data={"csrf": "0" * 64, "status": "monitoring"}
    )
    assert forged.status == 403
    updated = await client.post(
        "/console/incidents/permits-down/update",
        data={
            "csrf": csrf,
            "status": "monitoring",
            "eta": "2026-11-24T17:00",
            "message_es": "Arreglo aplicado.",
            "message_en": "Fix applied.",
        },
    )
    assert updated.status == 200
    incident = service.state.feed.incident("permits-down")
    assert incident is not None and incident.status.value == "monitoring"
    assert incident.eta is not None and incident.eta.isoformat() == "2026-11-24T17:00:00+01:00"
    assert service.state.revision.source == "console"
    bad = await client.post(
        "/console/incidents/open",
        data={
            "csrf": csrf,
            "id": "x1",
            "services": "permits",
            "areas": "mars",
            "title_es": "a",
            "title_en": "a",
            "summary_es": "b",
            "summary_en": "b",
            "next_update_by": "+1h",
        },
    )
    assert bad.status == 422 and "unknown area" in await bad.text()
    opened = await client.post(
        "/console/incidents/open",
        data={
            "csrf": csrf,
            "id": "x1",
            "services": "permits",
            "areas": "sol",
            "title_es": HOSTILE,
            "title_en": "t",
            "summary_es": "b",
            "summary_en": "b",
            "next_update_by": "+1h",
        },
    )
    assert opened.status == 200
    assert "&lt;script&gt;" in await opened.text()
    resolved = await client.post(
        "/console/incidents/x1/resolve",
        data={"csrf": csrf, "message_es": "Hecho.", "message_en": "Done."},
    )
    assert resolved.status == 200
    assert service.state.feed.incident("x1").status.value == "resolved"  # type: ignore[union-attr]


async def test_the_console_shows_every_channel_what_it_tells_and_what_is_off(
    client: Client,
) -> None:
    await sign_in(client)
    html = await (await client.get("/console")).text()
    table = html.split('id="consistency"', 1)[1].split("</table>", 1)[0]
    for channel in ("ivr", "web", "x", "staff", "customer", "webhook"):
        assert f"<td>{channel}</td>" in table, channel
    assert "rendered on request" in table  # the web and the phone tell whoever asks
    assert "not set" in table  # X and Telegram are off here, and the table says why


async def test_the_console_declares_maintenance_and_warns_of_broken_promises(
    client: Client, service: FeedService
) -> None:
    csrf = await sign_in(client)
    service.clock = lambda: NOON.replace(hour=15)  # the 14:30 update is overdue
    html = await (await client.get("/console")).text()
    assert 'name="window_start"' in html and 'name="window_end"' in html
    assert "is overdue" in html.split('id="warnings"', 1)[1].split("</div>", 1)[0]
    service.clock = lambda: NOON.replace(hour=19)
    html = await (await client.get("/console")).text()
    assert "has passed unresolved" in html
    service.clock = lambda: NOON
    response = await client.post(
        "/console/incidents/open",
        data={
            "csrf": csrf,
            "id": "roadworks",
            "kind": "maintenance",
            "services": "permits",
            "areas": "sol",
            "window_start": "2026-11-25T08:00",
            "window_end": "2026-11-25T10:00",
            "title_es": "Obras",
            "title_en": "Works",
            "summary_es": "Cortes breves.",
            "summary_en": "Short cuts.",
        },
    )
    assert response.status == 200, await response.text()
    maintenance = service.state.feed.incident("roadworks")
    assert maintenance is not None and maintenance.maintenance is not None
    # A maintenance whose window ended long ago is not listed as open.
    service.clock = lambda: NOON.replace(day=27)
    html = await (await client.get("/console")).text()
    assert 'id="roadworks"' not in html and 'id="fibre-works"' not in html


async def test_the_console_lists_the_promises_coming_up(client: Client) -> None:
    response = await client.get("/console", headers={"Authorization": f"Bearer {TOKEN}"})
    page = await response.text()
    coming = page[page.index('<table id="coming">') : page.index("<h2>Open incidents</h2>")]
    assert coming.index("next update overdue") < coming.index("eta passed")
    assert "Tue 24 Nov 14:30" in coming and "the update is late" in coming
    assert "maintenance started" in coming


async def test_the_console_links_each_channels_own_pages(client: Client) -> None:
    response = await client.get("/console", headers={"Authorization": f"Bearer {TOKEN}"})
    page = await response.text()
    assert '<a href="/console/x">X mentions</a>' in page
    assert '<a href="/console/customer">Customer hand-offs</a>' in page
