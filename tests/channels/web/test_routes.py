"""The public web over HTTP: banner caching and CORS, Statuspage shapes, Atom, SSE, the page."""

from __future__ import annotations

import asyncio
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.feed.changes import UpdateIncident
from bot.feed.models import Status
from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings
from channels.web.export import export_static
from tests.conftest import HOSTILE, NOON

ATOM = "{http://www.w3.org/2005/Atom}"

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client(aiohttp_client: MakeClient, service: FeedService) -> Client:
    return await aiohttp_client(create_app(service, Settings()))


async def test_banner_json_tells_the_area_its_incidents(client: Client) -> None:
    response = await client.get("/banner.json?area=sol&lang=en")
    assert response.status == 200
    body = await response.json()
    assert body["revision"] == 1 and body["lang"] == "en"
    [incident] = body["incidents"]
    assert incident["title"] == f'{HOSTILE} & "quotes"'  # data is data: escaping is the page's
    assert incident["eta_text"] == "today at 6:00 PM"
    assert incident["next_update_text"] == "today at 2:30 PM"
    assert incident["workaround"].startswith("Keep the request receipt")
    assert "Expected fix: today at 6:00 PM." in incident["text"]
    assert incident["dismiss_key"].startswith("permits-down:")
    north = await (await client.get("/banner.json?area=norte&lang=en")).json()
    assert north["incidents"] == [] and [m["id"] for m in north["maintenance"]] == ["fibre-works"]
    assert (await client.get("/banner.json?area=atlantis")).status == 404


async def test_banner_language_follows_accept_language(client: Client) -> None:
    english = await client.get("/banner.json", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert (await english.json())["lang"] == "en"
    fallback = await client.get("/banner.json", headers={"Accept-Language": "fr-FR"})
    assert (await fallback.json())["lang"] == "es"


async def test_etag_and_304(client: Client) -> None:
    first = await client.get("/banner.json?area=sol")
    tag = first.headers["ETag"]
    assert "max-age=15" in first.headers["Cache-Control"]
    assert "stale-while-revalidate" in first.headers["Cache-Control"]
    again = await client.get("/banner.json?area=sol", headers={"If-None-Match": tag})
    assert again.status == 304 and await again.read() == b""
    other = await client.get("/banner.json?area=norte", headers={"If-None-Match": tag})
    assert other.status == 200


async def test_etag_changes_with_a_revision(client: Client, service: FeedService) -> None:
    tag = (await client.get("/banner.json")).headers["ETag"]
    await service.apply(
        UpdateIncident(id="permits-down", status=Status.MONITORING), author="a", source="api"
    )
    response = await client.get("/banner.json", headers={"If-None-Match": tag})
    assert response.status == 200 and response.headers["ETag"] != tag


async def test_cors_only_for_listed_origins(client: Client) -> None:
    allowed = await client.get("/banner.json", headers={"Origin": "https://www.prueba.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.prueba.example"
    assert "Origin" in allowed.headers["Vary"]
    other = await client.get("/banner.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = await client.options(
        "/banner.json",
        headers={"Origin": "https://www.prueba.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.prueba.example"


COMPONENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}


async def test_statuspage_shapes(client: Client) -> None:
    summary = await (await client.get("/api/v2/summary.json")).json()
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert {"id", "name", "url", "time_zone", "updated_at"} <= set(summary["page"])
    for component in summary["components"]:
        assert set(component) == COMPONENT_KEYS
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses == {"permits": "partial_outage", "fibre": "operational"}
    [incident] = summary["incidents"]
    assert set(incident) >= INCIDENT_KEYS
    assert (incident["status"], incident["impact"]) == ("identified", "major")
    update = incident["incident_updates"][0]
    assert {"id", "status", "body", "incident_id", "created_at", "display_at"} <= set(update)
    [maintenance] = summary["scheduled_maintenances"]
    assert maintenance["status"] == "scheduled"
    assert maintenance["scheduled_for"] == "2026-11-25T00:00:00+01:00"
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    status = await (await client.get("/api/v2/status.json")).json()
    assert status["status"]["indicator"] == "major"
    unresolved = await (await client.get("/api/v2/incidents/unresolved.json")).json()
    assert [i["id"] for i in unresolved["incidents"]] == ["permits-down"]


async def test_atom_feed_is_valid_xml_with_every_update(client: Client) -> None:
    response = await client.get("/feed.atom?lang=en")
    assert response.content_type == "application/atom+xml"
    root = ET.fromstring(await response.read())
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}id") is not None and root.find(f"{ATOM}updated") is not None
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert f'{HOSTILE} & "quotes" — investigating' in titles  # escaped in, exact text out
    for entry in entries:
        for tag in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{tag}") is not None


async def read_events(response: Any, count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    while len(events) < count:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode().rstrip("\r\n")
        if not line:
            if current:
                events.append(current)
                current = {}
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(": ")
        current[field] = value
    return events


async def test_events_tell_each_revision_and_resume(client: Client, service: FeedService) -> None:
    response = await client.get("/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    [first] = await read_events(response, 1)
    assert (first["id"], first["event"], json.loads(first["data"])) == (
        "1",
        "revision",
        {"revision": 1},
    )
    await service.apply(
        UpdateIncident(id="permits-down", status=Status.MONITORING), author="a", source="api"
    )
    [second] = await read_events(response, 1)
    assert second["id"] == "2"
    response.close()
    # A client that saw revision 1 reconnects: it is told of revision 2 at once.
    resumed = await client.get("/events", headers={"Last-Event-ID": "1"})
    [caught_up] = await read_events(resumed, 1)
    assert caught_up["id"] == "2"
    resumed.close()


async def test_status_page_escapes_and_searches(client: Client) -> None:
    response = await client.get("/status?lang=en&postcode=28014")
    html = await response.text()
    assert response.status == 200
    assert "<script>alert(2)</script>" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "Incidents affecting 28014" in html
    assert "today at 6:00 PM" in html and "Keep the request receipt" in html
    assert "script-src" not in response.headers["Content-Security-Policy"]  # no script at all
    unknown = await (await client.get("/status?lang=en&postcode=99999")).text()
    assert "We do not know the postcode 99999" in unknown
    spanish = await (await client.get("/status", headers={"Accept-Language": "es"})).text()
    assert "Estado del servicio" in spanish and 'href="?lang=en"' in spanish


async def test_export_static_writes_what_the_server_serves(
    client: Client, service: FeedService, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    export_static(service.state, out, NOON)
    served = await (await client.get("/banner.json?lang=es")).read()
    assert (out / "banner.es.json").read_bytes() == served
    assert (out / "banner.json").read_bytes() == served  # the default language
    assert json.loads((out / "banner/sol.en.json").read_text())["incidents"][0]["id"] == (
        "permits-down"
    )
    assert (out / "api/v2/summary.json").exists() and (out / "feed.atom").exists()
    assert "&lt;script&gt;" in (out / "status.html").read_text(encoding="utf-8")
    assert oct((out / "status.html").stat().st_mode & 0o777) == "0o644"


async def test_banner_js_is_small_cached_and_exported(
    client: Client, service: FeedService, tmp_path: Path
) -> None:
    response = await client.get("/banner.js")
    body = await response.read()
    assert response.status == 200 and response.content_type == "text/javascript"
    assert len(body) < 10_000
    assert b"attachShadow" in body and b"EventSource" in body and b"innerHTML" not in body
    again = await client.get("/banner.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    export_static(service.state, tmp_path / "public", NOON)
    exported = (tmp_path / "public" / "banner.js").read_bytes()
    # The same script, switched to read the exported files (a static server ignores ?area=).
    assert b"var STATIC = false;" in body
    assert exported == body.replace(b"var STATIC = false;", b"var STATIC = true;")
    assert (tmp_path / "public" / "banner" / "sol.en.json").exists()


async def test_the_banner_is_built_once_a_minute_per_page(client: Client) -> None:
    first = await client.get("/banner.json?area=sol&lang=es")
    second = await client.get("/banner.json?area=sol&lang=es")
    assert await first.read() == await second.read()
    assert first.headers["ETag"] == second.headers["ETag"]


def _atom_entries(body: bytes, incident: str) -> dict[str, str]:
    root = ET.fromstring(body)
    return {
        e.findtext(f"{ATOM}id") or "": e.findtext(f"{ATOM}updated") or ""
        for e in root.findall(f"{ATOM}entry")
        if f"incident/{incident}/" in (e.findtext(f"{ATOM}id") or "")
    }


async def test_atom_tells_a_resolution_made_by_a_hand_edit(
    client: Client, service: FeedService
) -> None:
    before = _atom_entries(await (await client.get("/feed.atom?lang=en")).read(), "permits-down")
    text = service.feed_path.read_text(encoding="utf-8")
    text = text.replace(
        "    status: identified\n",
        "    status: resolved\n    resolved_at: 2026-11-24T11:50:00+01:00\n",
        1,
    )
    service.feed_path.write_text(text, encoding="utf-8")
    await service.reload_from_file()
    after = _atom_entries(await (await client.get("/feed.atom?lang=en")).read(), "permits-down")
    new = set(after) - set(before)
    assert new, "a resolution no feed reader can see"
    assert any(after[i] > max(before.values()) for i in new)
    # A new ETA with no message is a change every channel tells: the entry changes too.
    text = text.replace(
        "    status: resolved\n    resolved_at: 2026-11-24T11:50:00+01:00\n",
        "    status: identified\n",
        1,
    )
    service.feed_path.write_text(text.replace("eta: 2026-11-24T18:00", "eta: 2026-11-24T19:00"))
    await service.reload_from_file()
    later = _atom_entries(await (await client.get("/feed.atom?lang=en")).read(), "permits-down")
    assert set(later) - set(before) - set(after)


async def test_the_banner_labels_every_time_in_words(client: Client, service: FeedService) -> None:
    [entry] = (await (await client.get("/banner.json?area=sol&lang=en")).json())["incidents"]
    assert entry["when_fixed_sentence"] == "Expected fix: today at 6:00 PM."
    assert entry["next_update_sentence"] == "Next update: today at 2:30 PM."
    assert entry["workaround_sentence"].startswith("Meanwhile: Keep the request receipt")
    banner_js = (await (await client.get("/banner.js")).read()).decode()
    assert "⏱" not in banner_js and "next_update_sentence" in banner_js
    service.clock = lambda: NOON.replace(hour=19)  # both times behind us, nothing told yet
    later = await (await client.get("/banner.json?area=sol&lang=es")).json()
    [entry] = later["incidents"]
    assert "ya pasó" in entry["when_fixed_sentence"]
    assert "se está retrasando" in entry["next_update_sentence"]


async def test_public_views_are_readable_from_any_origin_by_default(
    aiohttp_client: MakeClient, service: FeedService, caplog: pytest.LogCaptureFixture
) -> None:
    text = service.feed_path.read_text(encoding="utf-8")
    service.feed_path.write_text(text.split("channels:\n  web:")[0], encoding="utf-8")
    await service.reload_from_file()
    client = await aiohttp_client(create_app(service, Settings()))
    elsewhere = {"Origin": "https://any-town.example"}
    for path in ("/banner.json?area=sol", "/api/v2/summary.json", "/feed.atom"):
        response = await client.get(path, headers=elsewhere)
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
    events = await client.get("/events", headers=elsewhere)
    assert events.headers["Access-Control-Allow-Origin"] == "*"
    events.close()


async def test_a_refused_origin_is_logged_once_with_the_fix(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = {"Origin": "https://stranger.example"}
    for _ in range(3):
        response = await client.get("/banner.json", headers=stranger)
        assert "Access-Control-Allow-Origin" not in response.headers
    warnings = [r.getMessage() for r in caplog.records if "stranger.example" in r.getMessage()]
    assert len(warnings) == 1 and "cors_origins" in warnings[0]


async def test_a_reader_that_went_away_is_not_an_error(
    service: FeedService, caplog: pytest.LogCaptureFixture
) -> None:
    import aiohttp
    from aiohttp import web

    caplog.set_level(logging.INFO)
    runner = web.AppRunner(create_app(service, Settings()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            response = await session.get(f"http://127.0.0.1:{port}/events")
            await read_events(response, 1)
            response.close()  # the tab closes
        await asyncio.sleep(0.2)
        await service.apply(
            UpdateIncident(id="permits-down", status=Status.MONITORING), author="a", source="api"
        )
        await asyncio.sleep(0.5)
    finally:
        await runner.cleanup()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
