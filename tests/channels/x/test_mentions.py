"""Mentions: polled from the stand-in, matched to incidents, drafted, replied through the engine."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from bot.state import FeedState
from channels.x import mentions
from channels.x.posts import MAX_LENGTH
from channels.x.renderer import x_length
from tests.channels.x.conftest import XHarness
from tests.conftest import NOON

AUTH = {"Authorization": "Bearer admin-token", "X-Unavoz-Author": "marta"}


def state_of(x: XHarness) -> FeedState:
    return x.app.service.state


@pytest.mark.parametrize(
    ("text", "locale", "incidents"),
    [
        ("@unavoz_status ¿cuándo vuelven los permisos en 28013?", "es", ["permits-down"]),
        ("@unavoz_status is permit renewal still down in the City Centre?", "en", ["permits-down"]),
        ("@unavoz_status no puedo renovar el permiso en Sol 😡😡", "es", ["permits-down"]),
        ("@unavoz_status hola, ¿qué pasa en el barrio Norte?", "es", []),
        ("@unavoz_status hello?", "en", []),
        ("@unavoz_status", "es", []),
        ("@unavoz_status مرحبا، هل هناك مشكلة في 28013؟", "es", ["permits-down"]),
    ],
)
def test_a_mention_is_matched_to_its_incidents_in_its_language(
    x: XHarness, text: str, locale: str, incidents: list[str]
) -> None:
    found = mentions.match(state_of(x), text, NOON)
    assert found.locale == locale
    assert [i.id for i in found.incidents] == incidents
    draft = mentions.draft(state_of(x), found, "vecina_ana", NOON)
    assert draft.startswith("@vecina_ana ") and x_length(draft) <= MAX_LENGTH
    if incidents:
        assert "18:00" in draft or "6:00" in draft


def test_a_huge_mention_is_read_quickly_and_drafted_within_280(x: XHarness) -> None:
    text = "@unavoz_status " + "permisos Centro 28013 " * 200  # ~4,400 characters
    found = mentions.match(state_of(x), text, NOON)
    assert [i.id for i in found.incidents] == ["permits-down"]
    assert x_length(mentions.draft(state_of(x), found, "a" * 15, NOON)) <= MAX_LENGTH


async def test_polled_mentions_land_in_the_inbox_newest_first_once(x: XHarness) -> None:
    first = x.standin.add_mention("vecina_ana", "¿vuelven hoy los permisos en Centro?")
    x.standin.add_mention("neighbour_bob", "🙂🙂 " + "x" * 3990)
    x.standin.add_mention("vecino_rtl", "שלום 28013 مرحبا")
    x.standin.add_mention("vecina_vacia", "")
    gone = x.standin.add_mention("borra", "¿permisos?")
    gone.deleted = True  # deleted before we read it: X does not list it
    own = x.standin._store(x.standin.account["id"], "@unavoz_status nota nuestra", None)
    await x.poll()
    inbox = await x.store.x_mentions()
    assert [m.author_handle for m in inbox] == [
        "vecina_vacia",
        "vecino_rtl",
        "neighbour_bob",
        "vecina_ana",
    ]
    assert own.id not in {m.post_id for m in inbox}
    assert await x.store.x_cursor("since_id") == inbox[0].post_id
    ana = await x.store.x_mention(first.id)
    assert ana is not None and ana.incident_ids == ("permits-down",) and ana.locale == "es"
    await x.poll()  # since_id: nothing read twice
    assert len(x.standin.calls_to("GET /2/users/:id/mentions")) == 2
    assert (
        x.standin.calls_to("GET /2/users/:id/mentions")[-1].params["since_id"] == inbox[0].post_id
    )
    assert len(await x.store.x_mentions()) == 4


async def test_polling_follows_the_rate_limit_headers_and_never_under_the_floor(
    x: XHarness,
) -> None:
    x.adapter.poll_override = None
    assert await x.poll() >= 15.0  # the feed's floor (the stand-in allows 180 per 15 min)
    x.standin.window_limits["GET /2/users/:id/mentions"] = 3  # a tier that allows little
    x.standin.windows.clear()
    pause = await x.poll()
    assert pause >= 15 * 60 / 3 - 5


@pytest.fixture
async def api(x: XHarness, aiohttp_client: object) -> TestClient:
    return await aiohttp_client(x.app.http_app())  # type: ignore[operator, no-any-return]


async def test_the_api_lists_mentions_with_matches_and_drafts(x: XHarness, api: TestClient) -> None:
    x.standin.add_mention("vecina_ana", "¿cuándo vuelven los permisos en 28013?")
    x.standin.add_mention("bob", "is the permit renewal in City Centre back?")
    await x.poll()
    assert (await api.get("/api/v1/x/mentions")).status == 401
    answer = await api.get("/api/v1/x/mentions", headers=AUTH)
    body = await answer.json()
    first, second = body["mentions"]
    assert first["author"]["handle"] == "bob" and first["locale"] == "en"
    assert first["draft"].startswith("@bob ") and "6:00" in first["draft"]
    assert second["incidents"][0]["id"] == "permits-down"
    assert second["draft"].startswith("@vecina_ana ")


async def test_the_draft_is_sent_through_the_engine_as_a_reply(
    x: XHarness, api: TestClient
) -> None:
    await x.drain()
    mention = x.standin.add_mention("vecina_ana", "¿cuándo vuelven los permisos en 28013?")
    await x.poll()
    url = f"/api/v1/x/mentions/{mention.id}/reply"
    answer = await api.post(url, json={}, headers=AUTH)
    assert answer.status == 202, await answer.text()
    assert (await api.post(url, json={}, headers=AUTH)).status == 409  # once
    await x.drain()
    [reply] = x.standin.replies(mention.id)
    assert reply.text.startswith("@vecina_ana ") and "18:00" in reply.text
    told = {e.target: e for e in await x.store.ledger("x")}
    assert told[f"mention:{mention.id}"].revision == 1
    assert told[f"mention:{mention.id}"].incident_id == "permits-down"


async def test_an_edited_reply_that_contradicts_the_feed_is_refused_unless_overridden(
    x: XHarness, api: TestClient
) -> None:
    mention = x.standin.add_mention("vecina_ana", "¿permisos en Centro?")
    await x.poll()
    url = f"/api/v1/x/mentions/{mention.id}/reply"
    wrong = {"text": "@vecina_ana Ya está arreglado, ya funciona."}
    refused = await api.post(url, json=wrong, headers=AUTH)
    assert refused.status == 422
    findings = (await refused.json())["lint"]["findings"]
    assert {f["kind"] for f in findings} == {"resolved"}
    short = await api.post(url, json={**wrong, "override": True, "reason": "ok"}, headers=AUTH)
    assert short.status == 422  # a reason is at least 10 characters
    reason = "the crew phoned: it works since 12:05"
    sent = await api.post(url, json={**wrong, "override": True, "reason": reason}, headers=AUTH)
    assert sent.status == 202
    body = await sent.json()
    assert body["reply"]["override_reason"] == reason and body["reply"]["by"] == "marta"
    assert body["reply"]["overridden"][0]["kind"] == "resolved"
    await x.drain()
    assert [p.text for p in x.standin.replies(mention.id)] == [wrong["text"]]


async def test_a_mention_not_about_an_incident_is_dismissed(x: XHarness, api: TestClient) -> None:
    mention = x.standin.add_mention("spam", "¡sígueme!")
    await x.poll()
    answer = await api.post(f"/api/v1/x/mentions/{mention.id}/dismiss", headers=AUTH)
    assert answer.status == 200 and (await answer.json())["state"] == "dismissed"
    assert (
        await api.post(f"/api/v1/x/mentions/{mention.id}/reply", json={}, headers=AUTH)
    ).status == 409
    assert (await api.post("/api/v1/x/mentions/1/reply", json={}, headers=AUTH)).status == 404


async def test_a_reply_to_a_mention_deleted_meanwhile_fails_with_its_reason(
    x: XHarness, api: TestClient
) -> None:
    mention = x.standin.add_mention("vecina_ana", "¿permisos en Centro?")
    await x.poll()
    mention.deleted = True
    await api.post(f"/api/v1/x/mentions/{mention.id}/reply", json={}, headers=AUTH)
    await x.drain()
    figures = {f.channel: f for f in await x.store.channel_figures()}
    assert figures["x"].failed == 1 and "deleted" in (figures["x"].last_error or "")


@pytest.mark.parametrize("feed_extra", ["      auto_reply: true\n"])
async def test_auto_reply_answers_one_unambiguous_match_once_per_person_and_revision(
    x: XHarness,
) -> None:
    await x.drain()
    one = x.standin.add_mention("vecina_ana", "¿vuelven hoy los permisos en 28013?")
    again = x.standin.add_mention("vecina_ana", "¿y los permisos de Centro?")
    vague = x.standin.add_mention("bob", "hello?")
    await x.poll()
    await x.drain()
    assert len(x.standin.replies(one.id)) == 1
    assert x.standin.replies(again.id) == [] and x.standin.replies(vague.id) == []
    states = {m.post_id: m.state for m in await x.store.x_mentions()}
    assert states == {one.id: "auto_replied", again.id: "new", vague.id: "new"}


async def test_auto_reply_is_off_by_default(x: XHarness) -> None:
    one = x.standin.add_mention("vecina_ana", "¿vuelven hoy los permisos en 28013?")
    await x.poll()
    await x.drain()
    assert x.standin.replies(one.id) == []


async def test_the_console_inbox_sends_edits_and_dismisses(x: XHarness, api: TestClient) -> None:
    from bot.console.routes import _derive

    mention = x.standin.add_mention("vecina_ana", "¿permisos en Centro?")
    other = x.standin.add_mention("spam", "¡sígueme!")
    await x.poll()
    page = await api.get("/console/x", headers={"Authorization": "Bearer admin-token"})
    html = await page.text()
    assert page.status == 200 and "@vecina_ana" in html and "Send the draft" in html
    csrf = _derive("admin-token", "csrf")
    bearer = {"Authorization": "Bearer admin-token"}
    wrong = {"csrf": csrf, "action": "edit", "text": "@vecina_ana Ya funciona todo."}
    refused = await api.post(f"/console/x/mentions/{mention.id}", data=wrong, headers=bearer)
    assert refused.status == 422 and "contradicts the feed" in await refused.text()
    sent = await api.post(
        f"/console/x/mentions/{mention.id}",
        data={"csrf": csrf, "action": "send", "author": "marta"},
        headers=bearer,
        allow_redirects=False,
    )
    assert sent.status == 303
    gone = await api.post(
        f"/console/x/mentions/{other.id}",
        data={"csrf": csrf, "action": "dismiss"},
        headers=bearer,
        allow_redirects=False,
    )
    assert gone.status == 303
    forged = await api.post(
        f"/console/x/mentions/{other.id}", data={"csrf": "x", "action": "dismiss"}, headers=bearer
    )
    assert forged.status == 403
    states = {m.post_id: (m.state, m.handled_by) for m in await x.store.x_mentions()}
    assert states == {mention.id: ("replied", "marta"), other.id: ("dismissed", "console")}


async def test_consistency_and_the_console_show_x_per_locale(x: XHarness, api: TestClient) -> None:
    await x.drain()
    report = await (await api.get("/consistency")).json()
    locales = report["channels"]["x"]["details"]["locales"]
    assert locales["es"]["last_revision"] == 1 and locales["es"]["state"] == "in_sync"
    assert set(locales) == {"es", "en"}
    page = await (await api.get("/console", headers={"Authorization": "Bearer admin-token"})).text()
    assert "x es: in sync, last post revision 1" in page


async def test_many_mentions_at_once_are_read_page_after_page(x: XHarness) -> None:
    for n in range(150):
        x.standin.add_mention(f"vecino_{n}", f"¿permisos en 28013? {n}")
    await x.poll()
    assert len(await x.store.x_mentions(limit=500)) == 150
    assert len(x.standin.calls_to("GET /2/users/:id/mentions")) == 2
