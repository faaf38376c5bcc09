"""Posts and threads through the delivery engine, against the X stand-in: exactly once, faults."""

from __future__ import annotations

import datetime as dt
import time

import aiohttp
import pytest

from bot.delivery.model import DeliveryState
from bot.feed.changes import ResolveIncident, UpdateIncident
from channels.x.posts import MAX_LENGTH, post_text
from channels.x.renderer import x_length
from tests.channels.x.conftest import XHarness
from tests.conftest import MADRID
from tests.standins.x import lost, reset, server_error, slow, suspended, too_many_requests, when

OPEN_POSTS = 4  # the open incident and the maintenance, in Spanish and English


def thread_texts(x: XHarness, locale: str, incident_word: str) -> list[list[str]]:
    """The account's threads (first post to last) whose first post names `incident_word`."""
    roots = [p for p in x.standin.posts() if p.in_reply_to is None]
    chains = []
    for root in roots:
        chain, tip = [root], root
        while replies := [r for r in x.standin.replies(tip.id) if not r.deleted]:
            tip = replies[0]
            chain.append(tip)
        chains.append([p.text for p in chain])
    return [c for c in chains if incident_word in c[0]]


async def update(x: XHarness, **changes: object) -> None:
    change = UpdateIncident.model_validate({"id": "permits-down", **changes})
    await x.app.service.apply(change, author="ana", source="cli")


async def test_an_incident_is_one_thread_per_locale_from_opening_to_resolution(
    x: XHarness,
) -> None:
    assert await x.drain() == OPEN_POSTS
    await update(
        x,
        eta=dt.datetime(2026, 11, 24, 19, 0, tzinfo=MADRID),
        message={"es": "Nueva hora.", "en": "New time."},
    )
    await x.drain()
    await x.app.service.apply(
        ResolveIncident(id="permits-down", message={"es": "Arreglado.", "en": "Fixed."}),
        author="ana",
        source="cli",
    )
    await x.drain()
    [spanish] = thread_texts(x, "es", "Renovación de permisos caída")
    [english] = thread_texts(x, "en", "Permit renewal down")
    assert len(spanish) == len(english) == 3
    assert "18:00" in spanish[0] and "19:00" in spanish[1]
    assert "Resuelto" in spanish[2] or "resuelto" in spanish[2].lower()
    assert all(x_length(text) <= MAX_LENGTH for text in x.texts())
    # The post ids live in the store: each thread's tip is its last post.
    tip = await x.store.x_thread_tip("post:es:permits-down")
    assert tip is not None and x.standin.all_posts[tip.post_id].text == spanish[2]
    # The ledger says which revision each locale last told.
    told = {e.target: e.revision for e in await x.store.ledger("x")}
    assert told["post:es:permits-down"] == told["post:en:permits-down"] == 3


async def test_repeated_updates_differ_by_their_number_and_time(x: XHarness) -> None:
    await x.drain()
    for n in range(2):
        await update(x, message={"es": f"Seguimos {n}.", "en": f"Still on it {n}."})
        await x.drain()
    [spanish] = thread_texts(x, "es", "Renovación de permisos caída")
    # The small feed's incident has one timeline entry already: its opening is update #2.
    assert [t.rsplit("·", 1)[1].split()[0] for t in spanish] == ["#2", "#3", "#4"]
    assert len(set(spanish)) == 3 and not [c for c in x.standin.calls if c.status == 403]


def test_a_post_keeps_the_eta_and_the_area_within_280(x: XHarness) -> None:
    state = x.app.service.state
    incident = state.feed.incident("permits-down")
    assert incident is not None
    for locale in ("es", "en"):
        text = post_text(state, incident, locale, x.clock())
        assert x_length(text) <= MAX_LENGTH
        assert "18:00" in text or "6:00" in text
        assert "Centro" in text or "City Centre" in text


async def test_maintenance_is_posted_when_announced_started_and_ended(x: XHarness) -> None:
    await x.drain()
    x.now = dt.datetime(2026, 11, 25, 0, 0, tzinfo=MADRID)
    change = UpdateIncident.model_validate({"id": "fibre-works", "status": "in_progress"})
    await x.app.service.apply(change, author="scheduler", source="scheduler")
    await x.drain()
    x.now = dt.datetime(2026, 11, 25, 4, 0, tzinfo=MADRID)
    await x.app.service.apply(
        ResolveIncident(id="fibre-works"), author="scheduler", source="scheduler"
    )
    await x.drain()
    [spanish] = thread_texts(x, "es", "Mantenimiento")
    assert len(spanish) == 3


async def test_a_lost_answer_is_not_posted_twice(x: XHarness) -> None:
    x.standin.faults = when(lost(), endpoint="POST /2/tweets", times=1)
    await x.drain()
    counts = await x.store.delivery_counts()
    assert counts.get("pending", 0) == 1  # its answer was lost: tried again later
    await _due_now(x)
    await x.drain()
    assert len(x.standin.posts()) == OPEN_POSTS and len(set(x.texts())) == OPEN_POSTS
    assert (await x.store.delivery_counts()).get("sent") == OPEN_POSTS
    assert x.standin.calls_to("GET /2/users/:id/tweets")  # it looked before posting again


async def test_a_duplicate_refusal_of_our_own_post_is_success(x: XHarness) -> None:
    # The answer is lost and the retry posts again: X refuses it as a duplicate, and the
    # timeline shows the post is ours.
    x.standin.faults = when(lost(), endpoint="POST /2/tweets", times=1)
    await x.drain()
    original = x.adapter._found_posted

    async def blind(*args: object, duplicate: bool = False) -> bool:
        return await original(*args, duplicate=duplicate) if duplicate else False  # type: ignore[arg-type]

    x.adapter._found_posted = blind  # type: ignore[method-assign]
    await _due_now(x)
    await x.drain()
    assert len(x.standin.posts()) == OPEN_POSTS
    assert [c.status for c in x.standin.calls_to("POST /2/tweets")].count(403) == 1
    assert (await x.store.delivery_counts()).get("sent") == OPEN_POSTS


@pytest.mark.parametrize("fault", [server_error(503), server_error(502, html=True), reset()])
async def test_server_errors_and_resets_are_retried_with_backoff(
    x: XHarness, fault: object
) -> None:
    x.standin.faults = when(fault, endpoint="POST /2/tweets", times=2)  # type: ignore[arg-type]
    await x.drain()
    figures = {f.channel: f for f in await x.store.channel_figures()}
    assert figures["x"].retrying == 2 and figures["x"].last_error
    await _due_now(x)
    await x.drain()
    assert len(x.standin.posts()) == OPEN_POSTS


async def test_a_slow_answer_times_out_and_is_not_posted_twice(x: XHarness) -> None:
    await x.adapter.stop()
    x.adapter.client.timeout = aiohttp.ClientTimeout(total=0.2)
    await x.adapter.start()
    x.standin.faults = when(slow(1.0), endpoint="POST /2/tweets", times=1)
    await x.drain()
    await _due_now(x)
    await x.drain()
    assert len(x.standin.posts()) == OPEN_POSTS and len(set(x.texts())) == OPEN_POSTS


async def test_429_waits_for_the_reset_and_nothing_is_dropped(x: XHarness) -> None:
    x.standin.faults = when(too_many_requests(reset_in=120), endpoint="POST /2/tweets", times=1)
    await x.drain()
    waiting = await _waiting(x)
    assert len(waiting) == 1 and 100 < waiting[0] <= 121
    await _due_now(x)
    await x.drain()
    assert len(x.standin.posts()) == OPEN_POSTS


async def test_the_daily_limit_keeps_its_last_posts_for_openings_and_resolutions(
    x: XHarness,
) -> None:
    x.standin.posts_per_day_user = OPEN_POSTS + 3  # 3 left after the openings; reserve 3
    await x.drain()
    assert x.adapter.budget.remaining == 3
    await update(x, message={"es": "Seguimos.", "en": "Still on it."})
    await x.drain()
    assert len(x.standin.posts()) == OPEN_POSTS  # the updates wait for the reset
    details = (await x.app.registry.get("x").details(x.store, x.app.adapters)) or {}
    assert details["locales"]["es"]["pending"] == 1
    assert "kept for openings and resolutions" in details["locales"]["es"]["reason"]
    await x.app.service.apply(ResolveIncident(id="permits-down"), author="ana", source="cli")
    await _due_now(x)  # (the held update looks again every minute)
    await x.drain()
    # The resolution replaced the waiting update and went at once.
    assert sum("Resuelto" in t or "Resolved" in t for t in x.texts()) == 2


async def test_the_daily_limit_used_up_waits_for_the_24_hour_reset(x: XHarness) -> None:
    x.standin.posts_per_day_user = 2
    await x.drain()
    waits = await _waiting(x)
    assert len(waits) == 2 and all(waits_ > 23 * 3600 for waits_ in waits)
    figures = {f.channel: f for f in await x.store.channel_figures()}
    assert "daily post limit" in (figures["x"].last_error or "")


async def test_refused_credentials_wait_with_a_clear_reason_and_no_tight_loop(
    x: XHarness,
) -> None:
    x.standin.faults = when(suspended(), endpoint="POST /2/tweets")
    await x.drain()
    refused = len(x.standin.calls_to("POST /2/tweets"))  # those sent at once, before the first no
    await _due_now(x)
    await x.drain()
    assert len(x.standin.calls_to("POST /2/tweets")) == refused  # the others wait, not asking
    details = (await x.app.registry.get("x").details(x.store, x.app.adapters)) or {}
    reason = details["locales"]["es"]["reason"] or details["locales"]["en"]["reason"]
    assert "suspended" in reason and "X_CONSUMER_KEY" in reason
    assert (await x.store.delivery_counts()).get("failed", 0) == 0  # waiting, not dropped
    x.standin.faults = lambda call: None
    x.adapter.refused_until = 0
    await _due_now(x)
    await x.drain()
    assert len(x.standin.posts()) == OPEN_POSTS


async def _due_now(x: XHarness) -> None:
    async with x.store._transaction() as tx:  # type: ignore[attr-defined]
        await tx.execute("UPDATE deliveries SET next_attempt_at = 0 WHERE state = 'pending'")


async def _waiting(x: XHarness) -> list[float]:
    async with x.store._transaction() as tx:  # type: ignore[attr-defined]
        rows = await tx.fetch(
            "SELECT next_attempt_at FROM deliveries WHERE state = ? AND last_error IS NOT NULL",
            DeliveryState.PENDING.value,
        )
    return [float(r[0]) - time.time() for r in rows]
