"""Several `unavoz run` instances on one PostgreSQL: shared work, no duplicates, takeover."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
import pytest

from tests.delivery.test_crash import (
    EXTRA,
    IN_FLIGHT,
    TARGETS,
    Instance,
    feed_text,
    free_port,
    wait_in_sync,
    write_like_an_editor,
)
from tests.pg import fresh_postgres
from tests.standins.webhook import WebhookStandIn

pytestmark = pytest.mark.timeout(240)


async def holds_role(instance: Instance) -> bool:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{instance.port}/metrics") as response,
        ):
            text = await response.text()
    except aiohttp.ClientError:
        return False
    match = re.search(r"^unavoz_scheduler_role (\S+)$", text, re.MULTILINE)
    return match is not None and float(match.group(1)) == 1.0


async def latest_revision(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SELECT max(number) FROM revisions"))
    finally:
        await connection.close()


async def test_two_instances_share_a_fan_out_and_survive_losing_one(
    feed_file: Path, tmp_path: Path
) -> None:
    standin = await WebhookStandIn(delay=0.002).start()
    urls = [standin.url(f"t{n}") for n in range(TARGETS)]
    base = feed_file.read_text(encoding="utf-8")
    write_like_an_editor(feed_file, feed_text(base, [], 0))  # nobody to tell yet
    async with fresh_postgres() as database:
        first = Instance(feed_file, database, free_port(), tmp_path / "a.log")
        await first.wait_up()
        second = Instance(feed_file, database, free_port(), tmp_path / "b.log")
        await second.wait_up()
        try:
            # The webhooks are added: both instances drain that revision's fan-out together.
            write_like_an_editor(feed_file, feed_text(base, urls, 0))
            for _ in range(100):
                if await latest_revision(database) == 2:
                    break
                await asyncio.sleep(0.05)
            await wait_in_sync(first, 2)
            assert standin.raw_duplicates() == 0
            assert len(standin.applied) == TARGETS * (EXTRA + 2)
            connection = await asyncpg.connect(database)
            workers = await connection.fetchval(
                "SELECT count(DISTINCT claimed_by) FROM deliveries WHERE state = 'sent'"
            )
            await connection.close()
            assert workers == 2, "both instances should have sent part of the fan-out"
            # The first started holds the scheduler role; the other waits.
            assert await holds_role(first) and not await holds_role(second)

            # A new revision; the role holder dies mid-way; the survivor finishes and takes over.
            write_like_an_editor(feed_file, feed_text(base, urls, 1))
            # Whichever instance notices the edit first records it; both then fan it out.
            for _ in range(200):
                if await latest_revision(database) == 3:
                    break
                await asyncio.sleep(0.02)
            assert await latest_revision(database) == 3, "neither instance took the edit"
            await asyncio.sleep(0.2)
            first.kill()
            await wait_in_sync(second, 3, within=60)
            for _ in range(50):
                if await holds_role(second):
                    break
                await asyncio.sleep(0.1)
            assert await holds_role(second), "the survivor did not take the scheduler role"
        finally:
            if first.process.poll() is None:
                first.kill()
            assert second.stop() == 0
            await standin.stop()

    latest = standin.latest()
    assert len(latest) == TARGETS * (EXTRA + 2)
    assert all(
        r.body["next_update_by"] == "2026-11-24T14:01:00+01:00"
        for (_, incident), r in latest.items()
        if incident.startswith("extra-")
    )
    assert standin.in_order()
    assert standin.raw_duplicates() <= IN_FLIGHT  # only what the killed instance had in flight
