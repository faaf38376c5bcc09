"""End to end through a running `unavoz run`: threads, exactly once across a kill and with two
instances on PostgreSQL, a mention answered, a contradicting reply refused, auto-reply."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.registry import default_registry
from bot.runner import announce_channels
from bot.settings import Settings
from tests.channels.x.conftest import x_feed
from tests.delivery.test_crash import Instance, free_port
from tests.pg import fresh_postgres
from tests.standins.x import XStandIn, slow, when

pytestmark = pytest.mark.timeout(120)
AUTH = {"Authorization": "Bearer admin-token", "X-Unavoz-Author": "marta"}
OPEN_POSTS = 4


async def until(check: Callable[[], bool], within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def call(port: int, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"http://127.0.0.1:{port}{path}", headers=AUTH, **kwargs) as r,
    ):
        return r.status, await r.json(content_type=None)


@pytest.fixture
def x_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[XStandIn], Path]:
    def prepare(standin: XStandIn, extra: str = "") -> Path:
        for name, value in standin.credentials.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("X_API_URL", standin.url)
        monkeypatch.setenv("X_POLL_SECONDS", "0.2")
        monkeypatch.setenv("UNAVOZ_ADMIN_TOKEN", "admin-token")
        feed = tmp_path / "status_feed.yaml"
        feed.write_text(x_feed(extra), encoding="utf-8")
        return feed

    return prepare  # type: ignore[return-value]


def test_without_credentials_the_channel_is_off_in_one_line() -> None:
    lines = announce_channels(Settings.from_env({}), default_registry())
    [line] = [line for line in lines if line.startswith("X:")]
    assert line == (
        "X: off (X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET not set)"
    )


async def test_threads_mentions_and_replies_through_unavoz_run(
    x_env: Callable[..., Path], tmp_path: Path
) -> None:
    async with XStandIn() as standin:
        feed = x_env(standin, "      auto_reply: true\n")
        port = free_port()
        instance = Instance(feed, f"sqlite:///{tmp_path}/u.db", port, tmp_path / "run.log")
        try:
            await instance.wait_up()
            await until(lambda: len(standin.posts()) == OPEN_POSTS)
            # Auto-reply: one open incident, named without doubt.
            auto = standin.add_mention("vecina_ana", "¿vuelven hoy los permisos en 28013?")
            await until(lambda: len(standin.replies(auto.id)) == 1)
            # A person answers the next one; an edit that contradicts the feed is refused.
            asked = standin.add_mention("bob", "hi, anything wrong up North?")
            for _ in range(300):
                status, body = await call(port, "GET", "/api/v1/x/mentions?state=new")
                if any(m["id"] == asked.id for m in body["mentions"]):
                    break
                await asyncio.sleep(0.05)
            path = f"/api/v1/x/mentions/{asked.id}/reply"
            status, body = await call(port, "POST", path, json={"text": "@bob All fixed now!"})
            assert status == 422 and body["lint"]["findings"]
            status, body = await call(port, "POST", path, json={})
            assert status == 202, body
            await until(lambda: len(standin.replies(asked.id)) == 1)
            status, report = await call(port, "GET", "/consistency")
            assert report["channels"]["x"]["details"]["locales"]["es"]["last_revision"] == 1
        finally:
            assert instance.stop() == 0
    assert len({p.text for p in standin.posts()}) == len(standin.posts())


async def test_a_post_in_flight_at_a_kill_is_not_posted_twice(
    x_env: Callable[..., Path], tmp_path: Path
) -> None:
    async with XStandIn() as standin:
        standin.faults = when(slow(3.0), endpoint="POST /2/tweets", times=1)
        feed = x_env(standin)
        database = f"sqlite:///{tmp_path}/u.db"
        first = Instance(feed, database, free_port(), tmp_path / "a.log")
        await first.wait_up()
        await until(lambda: len(standin.posts()) >= 1)  # stored; its answer 3 s away
        first.kill()
        second = Instance(feed, database, free_port(), tmp_path / "b.log")
        try:
            await second.wait_up()
            await until(lambda: len(standin.posts()) == OPEN_POSTS)
            await asyncio.sleep(1.0)
        finally:
            assert second.stop() == 0
    texts = [p.text for p in standin.posts()]
    assert len(texts) == OPEN_POSTS and len(set(texts)) == OPEN_POSTS


async def test_two_instances_on_postgresql_post_and_poll_once(
    x_env: Callable[..., Path], tmp_path: Path
) -> None:
    async with XStandIn() as standin, fresh_postgres() as database:
        feed = x_env(standin)
        ports = [free_port(), free_port()]
        instances = [
            Instance(feed, database, ports[0], tmp_path / "a.log"),
            Instance(feed, database, ports[1], tmp_path / "b.log"),
        ]
        try:
            for instance in instances:
                await instance.wait_up()
            await until(lambda: len(standin.posts()) == OPEN_POSTS)
            mention = standin.add_mention("vecina_ana", "¿permisos en Centro?")
            for _ in range(300):
                _, body = await call(ports[1], "GET", "/api/v1/x/mentions")
                if body["mentions"]:
                    break
                await asyncio.sleep(0.05)
            assert [m["id"] for m in body["mentions"]] == [mention.id]
            status, _ = await call(
                ports[0], "POST", f"/api/v1/x/mentions/{mention.id}/reply", json={}
            )
            again, _ = await call(
                ports[1], "POST", f"/api/v1/x/mentions/{mention.id}/reply", json={}
            )
            assert (status, again) == (202, 409)
            await until(lambda: len(standin.replies(mention.id)) == 1)
            await asyncio.sleep(1.0)
        finally:
            for instance in instances:
                assert instance.stop() == 0
    texts = [p.text for p in standin.posts()]
    assert len(texts) == OPEN_POSTS + 1 and len(set(texts)) == len(texts)
