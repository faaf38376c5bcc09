"""Two `unavoz run` instances on one PostgreSQL: a promise falling due is told once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
import yaml

from tests.delivery.test_crash import Instance, free_port
from tests.pg import fresh_postgres

pytestmark = pytest.mark.timeout(120)


async def test_two_instances_tell_an_edge_once(
    feed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both start two seconds before the small feed's 14:30 next update falls due.
    monkeypatch.setenv("UNAVOZ_NOW", "2026-11-24T14:29:58+01:00")
    async with fresh_postgres() as database:
        first = Instance(feed_file, database, free_port(), tmp_path / "a.log")
        second = Instance(feed_file, database, free_port(), tmp_path / "b.log")
        try:
            await first.wait_up()
            await second.wait_up()
            connection = await asyncpg.connect(database)
            try:
                for _ in range(200):
                    told = await connection.fetchval(
                        "SELECT count(*) FROM revisions WHERE author = 'scheduler'"
                    )
                    if told:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(2.0)  # time for a second telling, were there one
                told = await connection.fetchval(
                    "SELECT count(*) FROM revisions WHERE author = 'scheduler'"
                )
            finally:
                await connection.close()
        finally:
            assert first.stop() == 0
            assert second.stop() == 0
    assert told == 1
    document = yaml.safe_load(feed_file.read_text("utf-8"))
    permits = next(i for i in document["incidents"] if i["id"] == "permits-down")
    assert [u["edge"] for u in permits["updates"] if u.get("edge")] == ["next_update_overdue"]
