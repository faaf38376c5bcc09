"""The admin API: the CLI's operations over HTTP, behind a bearer token."""

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

TOKEN = "s3cret-token"
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


OPEN_BODY: dict[str, Any] = {
    "id": "water-cut",
    "title": {"es": "Corte de agua", "en": "Water cut"},
    "summary": {"es": "Sin agua.", "en": "No water."},
    "services": ["permits"],
    "areas": ["sol"],
    "status": "investigating",
    "next_update_by": "2026-11-24T13:00:00+01:00",
    "workaround": {"es": "Fuente de la plaza.", "en": "The square's fountain."},
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/feed"),
        ("GET", "/api/v1/revisions"),
        ("GET", "/api/v1/revisions/1"),
        ("GET", "/api/v1/incidents"),
        ("GET", "/api/v1/incidents/permits-down"),
        ("POST", "/api/v1/incidents"),
        ("PATCH", "/api/v1/incidents/permits-down"),
        ("POST", "/api/v1/incidents/permits-down/resolve"),
        ("GET", "/api/v1/schedule"),
    ],
)
async def test_every_admin_route_needs_the_token(client: Client, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await client.request(method, path, headers=headers, json={})
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_without_a_configured_token_the_admin_api_is_off(
    aiohttp_client: MakeClient, service: FeedService
) -> None:
    client = await aiohttp_client(create_app(service, Settings(admin_token=None)))
    response = await client.get("/api/v1/feed", headers=AUTH)
    assert response.status == 403
    assert "UNAVOZ_ADMIN_TOKEN" in (await response.json())["error"]


async def test_read_the_feed_and_its_revisions(client: Client) -> None:
    body = await (await client.get("/api/v1/feed", headers=AUTH)).json()
    assert body["revision"]["number"] == 1
    assert body["feed"]["organization"]["timezone"] == "Europe/Madrid"
    revisions = await (await client.get("/api/v1/revisions", headers=AUTH)).json()
    assert [r["number"] for r in revisions["revisions"]] == [1]
    one = await (await client.get("/api/v1/revisions/1", headers=AUTH)).json()
    assert one["document"].startswith("# A small feed")
    assert (await client.get("/api/v1/revisions/9", headers=AUTH)).status == 404


async def test_an_incident_with_what_every_channel_says(client: Client) -> None:
    body = await (await client.get("/api/v1/incidents/permits-down", headers=AUTH)).json()
    assert set(body["channels"]) == {"ivr", "web", "x", "staff", "customer"}
    assert "hoy a las 18:00" in body["channels"]["x"]["es"]
    assert (await client.get("/api/v1/incidents/nope", headers=AUTH)).status == 404
    listed = await (await client.get("/api/v1/incidents", headers=AUTH)).json()
    assert [i["id"] for i in listed["incidents"]] == ["permits-down", "fibre-works"]


async def test_open_update_resolve(client: Client, service: FeedService) -> None:
    headers = {**AUTH, "X-Unavoz-Author": "marta"}
    opened = await client.post("/api/v1/incidents", json=OPEN_BODY, headers=headers)
    assert opened.status == 201, await opened.text()
    body = await opened.json()
    assert body["revision"]["number"] == 2
    assert body["revision"]["author"] == "marta"
    assert body["revision"]["source"] == "api"
    assert body["incident"]["status"] == "investigating"

    updated = await client.patch(
        "/api/v1/incidents/water-cut",
        json={"status": "identified", "eta": "2026-11-24T17:00:00+01:00"},
        headers=headers,
    )
    assert updated.status == 200, await updated.text()
    assert (await updated.json())["incident"]["eta"] == "2026-11-24T17:00:00+01:00"

    resolved = await client.post(
        "/api/v1/incidents/water-cut/resolve",
        json={"message": {"es": "Arreglado.", "en": "Fixed."}},
        headers=headers,
    )
    assert resolved.status == 200
    assert (await resolved.json())["revision"]["number"] == 4
    # The file on disk is the source of truth, and it says the same.
    on_disk = yaml.safe_load(service.feed_path.read_text(encoding="utf-8"))
    water = next(i for i in on_disk["incidents"] if i["id"] == "water-cut")
    assert water["status"] == "resolved"
    assert [u["author"] for u in water["updates"]] == ["marta"] * 3


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        ("POST", "/api/v1/incidents", {**OPEN_BODY, "areas": ["mars"]}, 422, "unknown area"),
        ("POST", "/api/v1/incidents", {**OPEN_BODY, "id": "permits-down"}, 409, "already exists"),
        ("POST", "/api/v1/incidents", {"id": "x"}, 422, "invalid request"),
        ("PATCH", "/api/v1/incidents/nope", {"status": "monitoring"}, 404, "no incident"),
        ("POST", "/api/v1/incidents/old-outage/resolve", {}, 409, "already resolved"),
        ("PATCH", "/api/v1/incidents/permits-down", {"status": "sleeping"}, 422, "invalid"),
    ],
)
async def test_bad_changes_are_refused_clearly(
    client: Client, method: str, path: str, body: dict[str, Any], status: int, text: str
) -> None:
    response = await client.request(method, path, json=body, headers=AUTH)
    assert response.status == status
    assert text in await response.text()


async def test_a_body_that_is_not_json(client: Client) -> None:
    response = await client.post("/api/v1/incidents", data=b"{nope", headers=AUTH)
    assert response.status == 400


async def test_the_openapi_description_is_served_and_lists_every_route(client: Client) -> None:
    response = await client.get("/api/v1/openapi.yaml")
    assert response.status == 200
    spec = yaml.safe_load(await response.text())
    assert spec["openapi"].startswith("3.1")
    # Every route under /api/v1 the server has — the core's and each channel's — is described.
    served = {
        resource.canonical.removeprefix("/api/v1")
        for resource in client.server.app.router.resources()
        if resource.canonical.startswith("/api/v1/")
    } - {"/openapi.yaml"}
    assert set(spec["paths"]) == served
    assert {"/feed", "/schedule", "/lint", "/x/mentions", "/subscriptions/summary"} <= served
    assert "OpenIncident" in spec["components"]["schemas"]


async def test_the_schedule_lists_each_promise_still_to_fall_due(client: Client) -> None:
    body = await (await client.get("/api/v1/schedule", headers=AUTH)).json()
    assert body["now"] == "2026-11-24T12:00:00+01:00"  # noon in Madrid: the test clock
    edges = [(e["incident"], e["edge"], e["due"]) for e in body["edges"]]
    assert edges == [
        ("permits-down", "next_update_overdue", False),
        ("permits-down", "eta_passed", False),
        ("fibre-works", "maintenance_started", False),
        ("fibre-works", "maintenance_ended", False),
    ]
    assert all(e["what_happens"] for e in body["edges"]) and body["overdue"] == []


async def test_an_eta_in_the_past_needs_confirmation_and_the_answer_says_so(
    client: Client, service: FeedService
) -> None:
    url = "/api/v1/incidents/permits-down"
    refused = await client.patch(url, json={"eta": "2026-11-24T09:00:00+01:00"}, headers=AUTH)
    assert refused.status == 409
    body = await refused.json()
    assert body["kind"] == "needs_confirmation" and "3 h 0 min in the past" in body["error"]
    assert '"confirm": true' in body["error"]
    assert service.state.revision.number == 1
    made = await client.patch(
        url, json={"eta": "2026-11-24T09:00:00+01:00", "confirm": True}, headers=AUTH
    )
    assert made.status == 200
    assert "in the past" in (await made.json())["warnings"][0]


async def test_a_null_eta_withdraws_it(client: Client, service: FeedService) -> None:
    response = await client.patch(
        "/api/v1/incidents/permits-down", json={"eta": None}, headers=AUTH
    )
    assert response.status == 200
    assert (await response.json())["incident"]["eta"] is None
    assert service.state.feed.incident("permits-down").eta is None  # type: ignore[union-attr]


async def test_an_invalid_hand_edit_is_named_as_such(client: Client, service: FeedService) -> None:
    text = service.feed_path.read_text(encoding="utf-8")
    service.feed_path.write_text(text.replace("severity: major", "severity: awful"), "utf-8")
    response = await client.patch(
        "/api/v1/incidents/permits-down", json={"severity": "minor"}, headers=AUTH
    )
    assert response.status == 409
    body = await response.json()
    assert body["kind"] == "invalid_hand_edit" and body["problems"][0]["line"] == 37
    assert "invalid hand edit" in body["error"]


BAD_BODIES: list[tuple[str, str, bytes]] = [
    ("POST", "/api/v1/incidents", b'{"id": "x", "title": {"es": "\xff\xfe"}}'),  # not UTF-8
    ("PATCH", "/api/v1/incidents/permits-down", b'{"title": {"es": "a\\u0000b", "en": "c"}}'),
    ("PATCH", "/api/v1/incidents/permits-down", b'{"title": {"es": "a\\u001bb", "en": "c"}}'),
    ("PATCH", "/api/v1/incidents/permits-down", b'{"workaround": {"es": "\\ud800", "en": "c"}}'),
    ("PATCH", "/api/v1/incidents/permits-down", b'{"message": {"es": "\\u2028", "en": "c"}}'),
    (
        "PATCH",
        "/api/v1/incidents/permits-down",
        b'{"title": {"es": "' + b"a" * 81 + b'", "en": "c"}}',
    ),
    ("PATCH", "/api/v1/incidents/permits-down", b'{"areas": ["<script>"]}'),
    ("PATCH", "/api/v1/incidents/permits-down", b'{"eta": "tomorrow-ish"}'),
    ("PATCH", "/api/v1/incidents/permits-down", b'{"eta": "2026-11-24T18:00"}'),  # no offset
    ("PATCH", "/api/v1/incidents/permits-down", b"[1, 2]"),
    ("PATCH", "/api/v1/incidents/permits-down", b'{"severity": {"a": 1}}'),
    ("POST", "/api/v1/incidents/permits-down/resolve", b'{"message": {"es": "\\u0007"}}'),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_BODIES)
async def test_bad_input_is_refused_at_the_door_never_a_500(
    client: Client, service: FeedService, method: str, path: str, body: bytes
) -> None:
    response = await client.request(
        method, path, data=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert 400 <= response.status < 500, (response.status, await response.text())
    assert "error" in await response.json()
    assert service.state.revision.number == 1  # nothing was written


@pytest.mark.parametrize("query", ["limit=-1", "limit=0", "limit=abc", "before=-3"])
async def test_revision_listing_refuses_nonsense(client: Client, query: str) -> None:
    response = await client.get(f"/api/v1/revisions?{query}", headers=AUTH)
    assert response.status == 400


async def test_an_author_with_control_characters_is_cleaned(
    client: Client, service: FeedService
) -> None:
    response = await client.patch(
        "/api/v1/incidents/permits-down",
        json={"severity": "minor"},
        headers={**AUTH, "X-Unavoz-Author": "ana\tgarcía"},
    )
    assert response.status == 200
    assert (await response.json())["revision"]["author"] == "anagarcía"


async def test_the_openapi_document_says_each_texts_limit(client: Client) -> None:
    text = await (await client.get("/api/v1/openapi.yaml")).text()
    assert "maxLength: 80" in text and "maxLength: 300" in text
