"""The feed service: every change a revision with its author; an invalid one never wins."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.feed.changes import OpenIncident, ResolveIncident, UpdateIncident
from bot.feed.models import Status
from bot.feed.yamlsource import FeedError
from bot.service import FeedService
from bot.state import FeedState
from bot.store import Store, open_store
from tests.conftest import NOON


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as opened:
        yield opened


@pytest.fixture
def service(feed_file: Path, store: Store) -> FeedService:
    return FeedService(feed_file, store, clock=lambda: NOON)


async def test_start_records_the_file_as_revision_one(service: FeedService) -> None:
    state = await service.start()
    assert state.revision.number == 1
    assert state.revision.source == "file"
    assert state.statement("permits-down", "en").title == "Permit renewal down"
    # Starting again on the same file does not add a revision.
    again = await FeedService(service.feed_path, service.store).start()
    assert again.revision.number == 1


async def test_a_change_is_recorded_written_and_announced(service: FeedService) -> None:
    await service.start()
    heard: list[int] = []

    async def listener(state: FeedState) -> None:
        heard.append(state.revision.number)

    service.subscribe(listener)
    state = await service.apply(
        UpdateIncident(id="permits-down", status=Status.MONITORING),
        author="ana",
        source="api",
    )
    assert (state.revision.number, state.revision.author, state.revision.source) == (
        2,
        "ana",
        "api",
    )
    assert heard == [2]
    on_disk = service.feed_path.read_text(encoding="utf-8")
    assert on_disk == state.revision.document
    assert "status: monitoring" in on_disk
    assert on_disk.startswith("# A small feed the tests build on")  # comments kept
    # The watcher reading our own write back finds nothing new.
    assert (await service.reload_from_file()).revision.number == 2


async def test_an_invalid_change_changes_nothing(service: FeedService) -> None:
    await service.start()
    before = service.feed_path.read_text(encoding="utf-8")
    bad = OpenIncident(
        id="bad",
        title={"es": "x", "en": "x"},
        summary={"es": "x", "en": "x"},
        services=["permits"],
        areas=["atlantis"],
        next_update_by=NOON + dt.timedelta(hours=1),
    )
    with pytest.raises(FeedError, match="unknown area 'atlantis'"):
        await service.apply(bad, author="ana", source="cli")
    assert service.feed_path.read_text(encoding="utf-8") == before
    assert service.state.revision.number == 1
    assert (await service.store.latest_revision()).number == 1  # type: ignore[union-attr]


async def test_a_change_validates_and_rebuilds_only_what_it_touched(
    service: FeedService,
) -> None:
    """The incidents a change leaves alone are the current revision's own objects (not
    read again), and the state is the one the whole file gives; a change the feed refuses
    on the way is refused with the whole validation's file:line error."""
    first = await service.start()
    update = UpdateIncident(id="permits-down", message={"es": "Sigue.", "en": "Still."})
    second = await service.apply(update, author="ana", source="cli")
    bad = UpdateIncident(id="permits-down", areas=["atlantis"])
    with pytest.raises(FeedError) as refused:
        await service.apply(bad, author="ana", source="cli")
    assert [str(p) for p in refused.value.problems] == [
        f"{service.feed_path}:39: unknown area 'atlantis'"
    ]
    assert service.state is second
    third = await service.apply(
        UpdateIncident(id="permits-down", status=Status.MONITORING), author="ana", source="cli"
    )
    for earlier in (first, second):
        assert all(
            a is b
            for a, b in zip(third.feed.incidents[1:], earlier.feed.incidents[1:], strict=True)
        )
        assert third.feed.organization is earlier.feed.organization
    whole = await FeedService(service.feed_path, service.store, clock=lambda: NOON).start()
    assert whole.feed == third.feed and whole.revision == third.revision
    assert dict(whole.statements) == dict(third.statements)


async def test_a_bad_file_at_start_tells_the_last_good_revision(service: FeedService) -> None:
    await service.start()
    await service.apply(ResolveIncident(id="permits-down"), author="a", source="cli")
    service.feed_path.write_text("incidents: [\n", encoding="utf-8")
    restarted = FeedService(service.feed_path, service.store)
    state = await restarted.start()
    assert state.revision.number == 2
    assert state.feed.incident("permits-down").status is Status.RESOLVED  # type: ignore[union-attr]


async def test_a_bad_file_and_no_history_cannot_start(feed_file: Path, store: Store) -> None:
    feed_file.write_text("organization: 1\n", encoding="utf-8")
    with pytest.raises(FeedError, match=r"status_feed\.yaml:1"):
        await FeedService(feed_file, store).start()


async def test_a_bad_edit_keeps_the_current_revision(service: FeedService) -> None:
    await service.start()
    text = service.feed_path.read_text(encoding="utf-8")
    service.feed_path.write_text(text.replace("severity: major", "severity: awful"), "utf-8")
    with pytest.raises(FeedError):
        await service.reload_from_file()
    assert service.state.revision.number == 1
    assert [p.line for p in service.last_problems] == [37]


async def test_a_change_on_top_of_an_invalid_hand_edit_says_so_plainly(
    service: FeedService,
) -> None:
    from bot.feed.changes import UpdateIncident
    from bot.service import InvalidHandEdit

    await service.start()
    text = service.feed_path.read_text(encoding="utf-8")
    service.feed_path.write_text(text.replace("severity: major", "severity: awful"), "utf-8")
    with pytest.raises(InvalidHandEdit) as raised:
        await service.apply(
            UpdateIncident(id="permits-down", severity="minor"), author="ana", source="api"
        )
    message = str(raised.value)
    assert "has an invalid hand edit at" in message and "status_feed.yaml:37" in message
    assert "since " in message and "revision 1" in message
    assert "unavoz validate" in message and "/api/v1/revisions/1" in message
    assert "Your change was not made" in message
