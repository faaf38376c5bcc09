"""What the staff channel tells operations beyond alerts, in-process: a group that migrated
(warned once, shown until the feed is updated), a promise fallen due (a prompt whose button
starts /update where it is needed), and an operator's conversation kept in the store (it
expires after an hour)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.feed.changes import UpdateIncident
from bot.store import open_store
from channels.telegram import StaffChannel
from channels.telegram.delivery import StaffAdapter
from tests.channels.telegram.conftest import (
    OPERATIONS,
    OPERATOR,
    STRANGER,
    WARDENS,
    Running,
    running_unavoz,
    staff_feed,
)
from tests.conftest import NOON
from tests.standins.telegram import TelegramStandIn, migrated, person, when

SUPERGROUP = -1_009_000_000_001  # where the wardens' group moved
MARTA = person(OPERATOR, "Marta", language_code="en")
ADMIN = "s3cret"


@pytest.fixture
async def quick(
    feed_file: Path, tmp_path: Path, standin: TelegramStandIn
) -> AsyncIterator[Running]:
    """Without Telegram's limits: a conversation is many messages to one chat."""
    feed_file.write_text(staff_feed(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    database = f"sqlite:///{tmp_path}/u.db"
    async with running_unavoz(
        feed_file, database, standin, TELEGRAM_RATE="0/1", UNAVOZ_ADMIN_TOKEN=ADMIN
    ) as running:
        yield running


async def consistency(unavoz: Running) -> tuple[dict[str, Any], str]:
    """/consistency, and the console's page."""
    async with TestClient(TestServer(unavoz.app.http_app())) as client:
        body: dict[str, Any] = await (await client.get("/consistency")).json()
        console = await client.get("/console", headers={"Authorization": f"Bearer {ADMIN}"})
        page = await console.text()
    return body, page


def buttons(message: dict[str, Any]) -> list[dict[str, str]]:
    return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]


# A group that became a supergroup ----------------------------------------------------------


async def test_a_migrated_group_is_told_to_operations_once_and_shown_until_the_feed_changes(
    quick: Running,
) -> None:
    unavoz, standin = quick, quick.standin
    await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == 2 and unavoz.texts(WARDENS))
    standin.add_chat(SUPERGROUP)
    standin.faults = when(migrated(SUPERGROUP), chat_id=WARDENS)
    change = UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=8))
    await unavoz.app.service.apply(change, author="ana", source="cli")
    await unavoz.until(lambda: len(unavoz.texts(SUPERGROUP)) == 1)
    # Another instance, or this one restarted, meets the move again: it is no news.
    staff = next(a for a in unavoz.app.adapters if isinstance(a, StaffAdapter))
    staff.moves.clear()
    change = UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=9))
    await unavoz.app.service.apply(change, author="ana", source="cli")
    await unavoz.until(lambda: len(unavoz.texts(SUPERGROUP)) == 2)
    await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == 5)  # 2 alerts, 1 warning
    warnings = [t for t in unavoz.texts(OPERATIONS) if "supergroup" in t]
    assert warnings == [
        "⚠️ The Telegram group “Agentes Centro” became a supergroup: its chat id changed from"
        f" {WARDENS} to {SUPERGROUP}. Its alerts go to {SUPERGROUP} now. Update the feed: in"
        f" telegram_chat_ids, put {SUPERGROUP} instead of {WARDENS}."
    ]
    report, page = await consistency(unavoz)
    [moved] = report["channels"]["staff"]["details"]["migrated_chats"]
    assert moved["group"] == "wardens-centro"
    assert (moved["old_chat_id"], moved["new_chat_id"]) == (str(WARDENS), str(SUPERGROUP))
    assert f"WARNING: staff group wardens-centro (Agentes Centro): Telegram chat {WARDENS}" in page

    # The feed is updated: no more warning, and the group's button at its new id counts.
    unavoz.feed.write_text(
        unavoz.feed.read_text(encoding="utf-8").replace(str(WARDENS), str(SUPERGROUP)),
        encoding="utf-8",
    )
    await unavoz.app.service.reload_from_file()
    report, page = await consistency(unavoz)
    assert "details" not in report["channels"]["staff"] and "WARNING: staff group" not in page
    await unavoz.until(lambda: len(unavoz.texts(SUPERGROUP)) == 3)
    latest = unavoz.messages(SUPERGROUP)[-1]
    standin.press_button(SUPERGROUP, latest["message_id"], "ack", user=person(5, "Luis"))
    await unavoz.until(lambda: "Recibido por Luis" in unavoz.texts(SUPERGROUP)[-1])
    acks = await unavoz.app.store.acks_for("permits-down")
    assert [(a.target, a.user_name) for a in acks] == [(str(SUPERGROUP), "Luis")]
    assert len([t for t in unavoz.texts(OPERATIONS) if "supergroup" in t]) == 1


# A promise fallen due ------------------------------------------------------------------------


async def test_a_passed_eta_asks_operations_for_a_new_one_with_a_button_for_operators_only(
    quick: Running, feed_file: Path, tmp_path: Path, standin: TelegramStandIn
) -> None:
    unavoz = quick
    await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == 2)
    later = UpdateIncident(id="permits-down", next_update_by=NOON + dt.timedelta(hours=9))
    await unavoz.app.service.apply(later, author="ana", source="cli")
    unavoz.clock.set(NOON.replace(hour=18, minute=1))  # the ETA (18:00) has passed
    told = await unavoz.app.timekeeper.tell_due()
    assert [(e.incident_id, e.edge.value) for e in told] == [("permits-down", "eta_passed")]
    await unavoz.until(lambda: unavoz.texts(OPERATIONS)[-1].startswith("⏰"))
    prompt = unavoz.messages(OPERATIONS)[-1]
    assert prompt["text"] == (
        "⏰ The ETA for “Permit renewal down” (today at 6:00 PM) has passed — give a new ETA."
    )
    assert buttons(prompt) == [{"text": "New ETA", "callback_data": "op:eta:permits-down"}]
    assert not any(t.startswith("⏰") for t in unavoz.texts(WARDENS))  # operations only

    async def press(user: dict[str, Any]) -> str:
        count = len(unavoz.texts(OPERATIONS))
        standin.press_button(OPERATIONS, prompt["message_id"], "op:eta:permits-down", user=user)
        await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) > count)
        return unavoz.texts(OPERATIONS)[-1]

    async def say(words: str) -> str:
        count = len(unavoz.texts(OPERATIONS))
        standin.queue_message(OPERATIONS, words, user=MARTA)
        await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) > count)
        return unavoz.texts(OPERATIONS)[-1]

    refused = await press(person(STRANGER, "Pepe", language_code="en"))
    assert refused.startswith("Sorry: only the operations leads on the list")
    assert await unavoz.app.store.operator_draft(str(OPERATIONS), str(STRANGER)) is None
    assert (await press(MARTA)).startswith("Estimated fix time: a time like 18:30")
    assert (await say("+2h")).startswith("Next update: a time like 18:30")
    assert (await say("-")).startswith("This is what every channel will say.")
    preview = unavoz.messages(OPERATIONS)[-1]
    confirm = next(b for b in buttons(preview) if b["text"] == "Confirm")
    standin.press_button(OPERATIONS, preview["message_id"], confirm["callback_data"], user=MARTA)
    # (Operations hear the new revision too, in whichever order.)
    await unavoz.until(
        lambda: any("by telegram:777 (Marta)" in t for t in unavoz.texts(OPERATIONS))
    )
    incident = unavoz.app.service.state.feed.incident("permits-down")
    # "+2h" at 18:01 is 20:01, rounded up to five minutes.
    assert incident is not None and incident.eta == unavoz.clock() + dt.timedelta(minutes=124)


async def test_each_fallen_promise_is_asked_about_once_across_a_restart(
    feed_file: Path, tmp_path: Path, standin: TelegramStandIn
) -> None:
    feed_file.write_text(staff_feed(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    database = f"sqlite:///{tmp_path}/u.db"

    def prompts() -> list[dict[str, Any]]:
        return [m for m in standin.messages(OPERATIONS) if m["text"].startswith("⏰")]

    async with running_unavoz(feed_file, database, standin, TELEGRAM_RATE="0/1") as unavoz:
        await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == 2)
        unavoz.clock.set(NOON.replace(hour=18, minute=1))  # both the update and the ETA
        await unavoz.app.timekeeper.tell_due()
        await unavoz.until(lambda: len(prompts()) == 2)
    async with running_unavoz(feed_file, database, standin, TELEGRAM_RATE="0/1") as unavoz:
        await unavoz.until(lambda: unavoz.app.service.has_state)
        unavoz.clock.set(NOON.replace(hour=18, minute=2))
        assert await unavoz.app.timekeeper.tell_due() == []
        # A later revision's alert comes after anything queued before it, in that chat.
        change = UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=9))
        await unavoz.app.service.apply(change, author="ana", source="cli")
        await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) >= 6)
        assert "Expected fix: today at 9:00 PM" in unavoz.texts(OPERATIONS)[5]
    texts = [p["text"] for p in prompts()]
    assert len(texts) == 2
    assert texts[0].startswith("⏰ The next update on “Permit renewal down” (today at 2:30 PM)")
    assert buttons(prompts()[0]) == [
        {"text": "Give an update", "callback_data": "op:upd:permits-down"}
    ]
    assert texts[1].startswith("⏰ The ETA for “Permit renewal down” (today at 6:00 PM)")


# The operators' conversation, kept in the store ---------------------------------------------


async def test_a_conversation_left_an_hour_expires(quick: Running) -> None:
    unavoz, standin = quick, quick.standin
    await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == 2)
    standin.queue_message(OPERATOR, "/update", user=MARTA)
    await unavoz.until(lambda: unavoz.texts(OPERATOR))
    question = unavoz.messages(OPERATOR)[-1]
    assert question["text"] == "Which incident?"
    assert await unavoz.app.store.operator_draft(str(OPERATOR), str(OPERATOR)) is not None
    unavoz.clock.advance(dt.timedelta(minutes=61))
    [choice] = [b for b in buttons(question) if b["text"] == "Permit renewal down"]
    standin.press_button(OPERATOR, question["message_id"], choice["callback_data"], user=MARTA)
    await unavoz.until(lambda: len(unavoz.texts(OPERATOR)) == 2)
    assert unavoz.texts(OPERATOR)[-1].startswith("That conversation was left over an hour ago")
    assert await unavoz.app.store.operator_draft(str(OPERATOR), str(OPERATOR)) is None


async def test_unavoz_audit_reads_the_migrated_chats_from_the_latest_revision(
    small_text: str, tmp_path: Path
) -> None:
    """`unavoz audit` runs no channel: the staff channel's details come from the store."""
    channel = StaffChannel()
    async with open_store(f"sqlite:///{tmp_path}/u.db") as store:
        await store.record_revision(staff_feed(small_text), author="a", source="file")
        assert await channel.details(store, ()) is None
        await store.move_chat(str(WARDENS), str(SUPERGROUP), NOON.timestamp())
        await store.move_chat("-42", "-10042", NOON.timestamp())  # not the feed's: settled
        details = await channel.details(store, ())
    assert details is not None
    [line] = channel.detail_lines(details)
    assert line == (
        f"WARNING: staff group wardens-centro (Agentes Centro): Telegram chat {WARDENS} became"
        f" the supergroup {SUPERGROUP} on 2026-11-24T11:00:00+00:00; alerts go there. Put"
        f" {SUPERGROUP} in its telegram_chat_ids instead of {WARDENS}."
    )
