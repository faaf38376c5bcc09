"""Staff alerts end to end in-process: targeting, superseding, acks, escalation, /status."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.feed.changes import ResolveIncident, UpdateIncident
from channels.telegram.alerts import escalate_due
from tests.channels.telegram.conftest import FIBRE, OPERATIONS, SOL, WARDENS, Running
from tests.conftest import NOON
from tests.standins.telegram import person


async def test_each_matching_group_gets_one_alert_in_its_locale_with_the_button(
    unavoz: Running,
) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS) and len(unavoz.texts(OPERATIONS)) == 2)
    await unavoz.until(lambda: unavoz.texts(SOL))
    [wardens] = unavoz.messages(WARDENS)
    assert "INSTRUCCIONES: No multe permisos caducados" in wardens["text"]
    button = wardens["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Recibido", "callback_data": "ack"}
    # Operations (no areas, no services) hear of everything, in English: their locale.
    permits, maintenance = sorted(unavoz.texts(OPERATIONS), key=lambda t: "fibre" in t)
    assert "INSTRUCTIONS: Do not fine permits" in permits
    assert "Fibre network maintenance" in maintenance
    await asyncio.sleep(0.3)
    # Other areas and services: nothing about permits (its own maintenance only).
    [fibre] = unavoz.texts(FIBRE)
    assert "Mantenimiento de la red de fibra" in fibre and "permisos" not in fibre
    assert len(unavoz.texts(SOL)) == 1  # an area inside the incident's


async def test_a_new_alert_supersedes_the_last_and_a_stale_ack_does_not_count(
    unavoz: Running,
) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS))
    assert len(unavoz.messages(WARDENS)) == 1
    change = UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=8))
    await unavoz.app.service.apply(change, author="ana", source="cli")
    await unavoz.until(lambda: len(unavoz.texts(WARDENS)) == 2)
    await unavoz.until(lambda: unavoz.texts(WARDENS)[0].startswith("⚠️ DESACTUALIZADA"))
    old, new = unavoz.messages(WARDENS)
    assert f"/{new['message_id']}" in old["text"]  # points to the new one
    assert "reply_markup" not in old  # no button on a stale alert
    # Pressing the old alert's button (pressed before the edit reached the phone): stale.
    unavoz.standin.press_button(WARDENS, new["message_id"], "ack", user=person(5, "Luis"))
    await unavoz.until(lambda: "Recibido por Luis (12:00)" in unavoz.texts(WARDENS)[1])
    store = unavoz.app.store
    old_message = await store.alert_message(str(WARDENS), old["message_id"])
    assert old_message is not None
    stale = await store.record_ack(
        str(WARDENS), old["message_id"], user_id="6", user_name="Eva", at=NOON.timestamp()
    )
    assert stale is not None and stale[0].stale
    acks = await store.acks_for("permits-down")
    assert [(a.user_name, a.stale) for a in acks if a.target == str(WARDENS)] == [
        ("Luis", False),
        ("Eva", True),
    ]
    answered = unavoz.standin.bot().answered_queries
    assert answered  # the callback was answered


async def test_resolution_edits_the_last_alert(unavoz: Running) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS))
    await unavoz.app.service.apply(
        ResolveIncident(id="permits-down", message={"es": "Arreglado.", "en": "Fixed."}),
        author="ana",
        source="cli",
    )
    await unavoz.until(lambda: len(unavoz.texts(WARDENS)) == 2)
    await unavoz.until(lambda: unavoz.texts(WARDENS)[0].startswith("⚠️"))
    resolved = unavoz.messages(WARDENS)[1]
    assert resolved["text"].startswith("RESUELTO") and "reply_markup" not in resolved


async def test_an_unacknowledged_alert_is_repeated_then_escalated_once(unavoz: Running) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS) and len(unavoz.texts(OPERATIONS)) == 2)
    app, store = unavoz.app, unavoz.app.store
    assert await escalate_due(store, app.service.state, unavoz.clock) == 0  # not yet
    unavoz.clock.advance(dt.timedelta(minutes=2))
    assert await escalate_due(store, app.service.state, unavoz.clock) == 1
    assert await escalate_due(store, app.service.state, unavoz.clock) == 0  # once
    app.engine.wake()
    await unavoz.until(lambda: len(unavoz.texts(WARDENS)) == 2)
    repeat = unavoz.messages(WARDENS)[1]
    assert repeat["text"].startswith("🔁") and repeat["reply_markup"]
    unavoz.clock.advance(dt.timedelta(minutes=2))
    assert await escalate_due(store, app.service.state, unavoz.clock) == 1
    app.engine.wake()
    told = len(unavoz.texts(OPERATIONS))
    await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == told + 1)
    escalated = unavoz.texts(OPERATIONS)[-1]
    assert escalated.startswith("⏰ Not acknowledged in “Agentes Centro” after 2 min")
    assert "INSTRUCTIONS: Do not fine" in escalated  # in the operations group's locale
    assert await escalate_due(store, app.service.state, unavoz.clock) == 0


async def test_an_acknowledged_alert_is_not_escalated(unavoz: Running) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS))
    [alert] = unavoz.messages(WARDENS)
    unavoz.standin.press_button(WARDENS, alert["message_id"], "ack", user=person(5, "Luis"))
    await unavoz.until(lambda: "Recibido por" in unavoz.texts(WARDENS)[0])
    unavoz.clock.advance(dt.timedelta(minutes=30))
    app = unavoz.app
    await escalate_due(app.store, app.service.state, unavoz.clock)  # the other groups'
    due = await app.store.due_escalations(unavoz.clock().timestamp() + 3600)
    assert str(WARDENS) not in {p.target for p in due}
    assert len(unavoz.texts(WARDENS)) == 1


async def test_status_and_help_in_a_staff_group(unavoz: Running) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS))
    unavoz.standin.queue_command(WARDENS, "status", mention=True)
    await unavoz.until(lambda: len(unavoz.texts(WARDENS)) == 2)
    assert unavoz.texts(WARDENS)[1] == unavoz.texts(WARDENS)[0]  # the alert's own words
    await unavoz.until(lambda: unavoz.texts(FIBRE))
    unavoz.standin.queue_command(FIBRE, "status")
    unavoz.standin.queue_command(FIBRE, "help")
    await unavoz.until(lambda: len(unavoz.texts(FIBRE)) == 3)
    # Its maintenance is scheduled, not yet under way: an open incident all the same.
    assert unavoz.texts(FIBRE)[1] == unavoz.texts(FIBRE)[0]
    assert unavoz.texts(FIBRE)[2].startswith("Soy el bot de alertas")


async def test_forged_updates_change_nothing_and_crash_nothing(unavoz: Running) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS))
    standin = unavoz.standin
    [alert] = unavoz.messages(WARDENS)
    forged = {**alert, "message_id": 9999}
    standin.queue_update(
        {"callback_query": {"id": "1", "from": person(), "message": forged, "data": "ack",
                            "chat_instance": "1"}}
    )  # fmt: skip
    standin.queue_update(
        {"callback_query": {"id": "2", "from": person(), "message": alert, "data": "zzz",
                            "chat_instance": "1"}}
    )  # fmt: skip
    standin.queue_message(-1_009_999_999, "/status")  # not a staff group
    standin.queue_message(WARDENS, "x" * 5000)
    standin.queue_update({"update_id_is_missing": True})
    await unavoz.until(lambda: not standin.bot().updates, within=5)
    # Each button is answered all the same (the stand-in knows no such queries: 400s).
    await unavoz.until(lambda: len(standin.calls_to("answerCallbackQuery")) == 2)
    assert await unavoz.app.store.acks_for("permits-down") == []
    assert len(unavoz.texts(WARDENS)) == 1


async def test_a_time_edge_is_a_revision_the_operations_group_is_alerted_of(
    unavoz: Running,
) -> None:
    await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == 2)
    unavoz.clock.set(NOON.replace(hour=14, minute=31))  # the promised update is overdue
    told = await unavoz.app.timekeeper.tell_due()
    assert [edge.incident_id for edge in told] == ["permits-down"]
    await unavoz.until(lambda: len(unavoz.texts(OPERATIONS)) == 4)
    alert, prompt = unavoz.texts(OPERATIONS)[2:]
    assert "as soon as we can" in alert  # the overdue update, told
    assert prompt.startswith("⏰ The next update on")  # and operations asked for one
    await unavoz.until(lambda: unavoz.texts(OPERATIONS)[0].startswith("⚠️ OUT OF DATE"))
