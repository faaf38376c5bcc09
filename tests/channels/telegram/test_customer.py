"""The customer bot end to end in-process, against the stand-in: asking in both languages,
buttons, subscribing, notifications exactly once, /forget, a blocked chat, hand-offs, floods.

Here the customer bot and the staff bot are one token (one Bot, one poller routing private
chats to customers); `test_customer_own_bot.py` runs the customer bot on a token of its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.feed.changes import OpenIncident, ResolveIncident, UpdateIncident, apply_change
from bot.store import Place
from channels.telegram import customer_notify
from channels.telegram.customer_handoff import HANDOFFS, ReplyRefused
from tests.channels.telegram.conftest import OPERATOR, WARDENS, Running, running_unavoz, staff_feed
from tests.conftest import NOON
from tests.standins.telegram import DEFAULT_TOKEN, TelegramStandIn, person

pytestmark = pytest.mark.timeout(60)

ANA = 424242  # writes in Spanish
JOHN = 515151  # writes in English
PIERRE = 616161  # French: told in the feed's default, Spanish


@pytest.fixture
async def bot(feed_file: Path, tmp_path: Path, standin: TelegramStandIn) -> AsyncIterator[Running]:
    feed_file.write_text(staff_feed(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    async with running_unavoz(
        feed_file,
        f"sqlite:///{tmp_path}/unavoz.db",
        standin,
        TELEGRAM_CUSTOMER_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_RATE="0/1",  # no waiting a second between answers to one chat
        UNAVOZ_ADMIN_TOKEN="secret",
    ) as running:
        await running.until(lambda: running.texts(WARDENS))  # up, and its alert out
        yield running


def who(chat: int) -> dict[str, Any]:
    language = {ANA: "es", JOHN: "en", PIERRE: "fr"}.get(chat, "es")
    return person(chat, "Ana" if chat == ANA else "John", language_code=language)


async def ask(bot: Running, chat: int, text: str, count: int = 1) -> list[dict[str, Any]]:
    """Send `text` as `chat`; the `count` new messages the bot answers with."""
    before = len(bot.messages(chat))
    bot.standin.queue_message(chat, text, user=who(chat))
    await bot.until(lambda: len(bot.messages(chat)) >= before + count)
    return bot.messages(chat)[before:]


async def press(
    bot: Running, chat: int, message: dict[str, Any], data: str
) -> list[dict[str, Any]]:
    before = len(bot.messages(chat))
    bot.standin.press_button(chat, message["message_id"], data, user=who(chat))
    await bot.until(lambda: len(bot.messages(chat)) > before)
    return bot.messages(chat)[before:]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


async def test_start_greets_in_the_persons_language(bot: Running) -> None:
    [es] = await ask(bot, ANA, "/start")
    assert es["text"].startswith("Hola, Ana.") and "/subscribe" in es["text"]
    [en] = await ask(bot, JOHN, "/start")
    assert en["text"].startswith("Hello, John.") and "postcode" in en["text"]
    [fr] = await ask(bot, PIERRE, "/start")
    assert fr["text"].startswith("Hola")  # the feed's default locale
    [pick] = await ask(bot, PIERRE, "/language")
    assert ("English", "l:en") in buttons(pick)
    [done] = await press(bot, PIERRE, pick, "l:en")
    assert done["text"] == "I will speak English from now on."
    [help_] = await ask(bot, PIERRE, "/help")
    assert "Send me a postcode" in help_["text"]


async def test_small_talk_and_a_follow_up_about_the_place_just_asked(bot: Running) -> None:
    [hello] = await ask(bot, ANA, "Buenas tardes")
    assert hello["text"].startswith("Hola, Ana. Soy el asistente de estado")
    [lost] = await ask(bot, ANA, "¿Y cuándo se arregla?")  # nothing asked yet: which place?
    assert lost["text"].startswith("No he entendido")
    [first] = await ask(bot, ANA, "28012")
    [again] = await ask(bot, ANA, "¿Y cuándo se arregla?")
    assert again["text"] == first["text"] and "Renovación de permisos caída" in again["text"]
    [thanks] = await ask(bot, ANA, "muchas gracias")
    assert thanks["text"].startswith("De nada.")
    bot.clock.advance(dt.timedelta(minutes=31))  # a follow-up is about a moment ago
    [late] = await ask(bot, ANA, "¿Y cuándo se arregla?")
    assert late["text"].startswith("No he entendido")


@pytest.mark.parametrize(
    ("chat", "text", "expected"),
    [
        (ANA, "28012", "Renovación de permisos caída"),
        (ANA, "CENTRO", "Renovación de permisos caída"),
        (ANA, "no puedo renovar el permiso en 28012", "Renovación de permisos caída"),
        (ANA, "permisos de aparcamento", "Renovación de permisos caída"),  # a typo
        (JOHN, "28012", "Permit renewal down"),
        (JOHN, "city centre", "Permit renewal down"),
        (JOHN, "parking permits please", "Permit renewal down"),
    ],
)
async def test_each_way_of_asking_gets_the_customer_text(
    bot: Running, chat: int, text: str, expected: str
) -> None:
    [answer] = await ask(bot, chat, text)
    assert expected in answer["text"]
    state = bot.app.service.state
    locale = "es" if chat == ANA else "en"
    assert answer["text"] == state.render("customer", "permits-down", locale, NOON)
    [(label, data)] = buttons(answer)
    assert label in ("🔔 Avisarme", "🔔 Notify me") and data.startswith("s:")


async def test_nothing_known_says_so_with_the_time_and_the_status_page(bot: Running) -> None:
    [es] = await ask(bot, ANA, "28034")
    assert es["text"].startswith("No hay problemas conocidos en 28034 (comprobado a las 12:00)")
    assert "https://estado.prueba.example/status" in es["text"]
    [en] = await ask(bot, JOHN, "fibre")
    assert en["text"].startswith("No known problems with fibre (checked at 12:00 PM)")
    [unknown] = await ask(bot, JOHN, "99999")
    assert "I do not know the postcode 99999" in unknown["text"]
    [lost] = await ask(bot, JOHN, "what about the weather")
    assert "did not catch" in lost["text"]


async def test_a_notice_on_each_change_and_on_resolution_exactly_once(bot: Running) -> None:
    [answer] = await ask(bot, ANA, "28013")
    [done] = await press(bot, ANA, answer, buttons(answer)[0][1])
    assert done["text"].startswith("🔔 Le avisaré de cada cambio en 28013")
    [en] = await ask(bot, JOHN, "/subscribe centro")
    assert "City Centre" in en["text"]
    store = bot.app.store
    [sub] = await store.subscriptions_of("customer", str(ANA))
    assert sub.places == (Place.postcode("28013"),) and sub.locale == "es"

    service = bot.app.service
    eta = NOON + dt.timedelta(hours=8)
    await service.apply(UpdateIncident(id="permits-down", eta=eta), author="ana", source="cli")
    await bot.until(lambda: bot.texts(ANA)[-1].startswith("🔔 Actualización"))
    await bot.until(lambda: bot.texts(JOHN)[-1].startswith("🔔 Update"))
    assert "20:00" in bot.texts(ANA)[-1]
    assert bot.texts(ANA)[-1].startswith(  # what changed, first
        "🔔 Actualización — solución prevista: hoy a las 18:00 → hoy a las 20:00.\n\n"
    )
    assert bot.texts(JOHN)[-1].startswith(
        "🔔 Update — expected fix: today at 6:00 PM → today at 8:00 PM.\n\n"
    )
    await service.apply(
        ResolveIncident(id="permits-down", message={"es": "Arreglado.", "en": "Fixed."}),
        author="ana",
        source="cli",
    )
    await bot.until(lambda: bot.texts(ANA)[-1].startswith("✅ Solucionado"))
    await bot.until(lambda: bot.texts(JOHN)[-1].startswith("✅ Fixed"))
    # Adopting the same revision again (a restart, another instance) queues nothing more.
    notify = [h for h in service._listeners if type(h).__name__ == "NotifyOnRevision"]
    await notify[0](service.state)
    await asyncio.sleep(0.5)
    notices = [t for t in bot.texts(ANA) if t.startswith(("🔔 Actualización", "✅"))]
    assert len(notices) == 2, notices
    # Nobody listening elsewhere heard anything.
    assert not [t for t in bot.texts(PIERRE) if t.startswith("🔔")]


async def test_mysubscriptions_unsubscribe_and_forget(bot: Running) -> None:
    await ask(bot, ANA, "/subscribe 28012")
    await ask(bot, ANA, "/subscribe fibra")
    [mine] = await ask(bot, ANA, "/mysubscriptions")
    assert mine["text"] == "Le aviso de cambios en: 28012, fibra."
    [gone] = await ask(bot, ANA, "/unsubscribe fibra")
    assert gone["text"] == "No recibirá más avisos de fibra."
    await ask(bot, ANA, "/language en")
    assert await bot.app.store.chosen_language("customer", str(ANA)) == "en"
    [forgot] = await ask(bot, ANA, "/forget")
    assert forgot["text"].startswith("I deleted everything")
    assert await bot.app.store.subscriptions_of("customer", str(ANA)) == []
    assert await bot.app.store.chosen_language("customer", str(ANA)) is None
    # Once the confirmation is out and recorded (before someone else's later answer is sent),
    # nothing names the chat: no subscription, no delivery (waiting, sent, or the
    # confirmation itself), no ledger row, no rate-limit log.
    await ask(bot, PIERRE, "/help")
    store = bot.app.store
    found = []
    async with store._transaction() as tx:  # type: ignore[attr-defined]
        for table, column in (
            ("deliveries", "target"),
            ("ledger", "target"),
            ("send_log", "target"),
            ("chat_languages", "address"),
        ):
            rows = await tx.fetch(f"SELECT count(*) FROM {table} WHERE {column} = ?", str(ANA))
            found.append((table, int(rows[0][0])))
    assert found == [("deliveries", 0), ("ledger", 0), ("send_log", 0), ("chat_languages", 0)]


async def test_a_blocked_chat_loses_its_subscriptions(bot: Running) -> None:
    await ask(bot, ANA, "/subscribe 28012")
    bot.standin.kick(ANA)
    await bot.app.service.apply(
        UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=3)),
        author="ana",
        source="cli",
    )

    async def ended() -> bool:
        return await bot.app.store.subscriptions_of("customer", str(ANA)) == []

    for _ in range(200):
        if await ended():
            break
        await asyncio.sleep(0.05)
    assert await ended()


async def test_a_hand_off_round_trip_through_the_lint(bot: Running) -> None:
    await ask(bot, ANA, "28012")
    [human] = await ask(bot, ANA, "quiero hablar con una persona")
    assert "+34 910 000 010" in human["text"] and "Ahora está abierto" in human["text"]
    await ask(bot, ANA, "¿me llaman?", count=0)  # kept for the team; the bot stays quiet
    for _ in range(100):
        record = await bot.app.store.handoff(str(ANA))
        if record is not None and len(record.messages) == 2:
            break
        await asyncio.sleep(0.05)
    handoffs = bot.app.http_app()[HANDOFFS]
    [opened] = await bot.app.store.handoffs()
    assert opened.chat_id == str(ANA)
    with pytest.raises(ReplyRefused) as refused:
        await handoffs.reply(str(ANA), "Ya está arreglado, pruebe ahora.", author="marta")
    assert refused.value.status == 422 and refused.value.details["lint"]["findings"]
    await handoffs.reply(
        str(ANA), "Calculamos que a las 18:00 funcionará. Guarde el justificante.", author="marta"
    )
    await bot.until(lambda: bot.texts(ANA)[-1].startswith("👤 Nuestro equipo: Calculamos"))
    await handoffs.reply(
        str(ANA),
        "Ya está arreglado en su calle.",
        author="marta",
        override_reason="the engineer confirmed it by phone",
    )
    await bot.until(lambda: "arreglado en su calle" in bot.texts(ANA)[-1])
    record = await bot.app.store.handoff(str(ANA))
    assert record is not None
    said = [(m.sender, m.text) for m in record.messages]
    assert said[:2] == [("customer", "quiero hablar con una persona"), ("customer", "¿me llaman?")]
    assert record.messages[-1].override_reason == "the engineer confirmed it by phone"
    assert record.messages[-1].overridden


async def test_an_operator_in_private_is_staff_a_customer_is_not(bot: Running) -> None:
    [answer] = await ask(bot, OPERATOR, "/open")
    assert "customer" not in answer["text"].lower()
    assert buttons(answer) and all(data.startswith("op:") for _, data in buttons(answer))
    [customer] = await ask(bot, ANA, "/open")  # a customer's unknown command: help
    assert "/subscribe" in customer["text"]


async def test_floods_stickers_and_long_texts_do_not_crash_or_slow_others(bot: Running) -> None:
    for n in range(25):
        bot.standin.queue_message(ANA, f"28012 {n}", user=who(ANA))
    bot.standin.queue_update(
        {
            "message": {
                "message_id": 999,
                "from": who(JOHN),
                "chat": {"id": JOHN, "type": "private"},
                "date": 0,
                "sticker": {"file_id": "x"},
            }
        }
    )
    [answer] = await ask(bot, JOHN, "28012\x00\x07 " + "a" * 3990)
    assert "Permit renewal down" in answer["text"]
    await bot.until(lambda: any(t.startswith("Recibo demasiados") for t in bot.texts(ANA)))
    await asyncio.sleep(0.3)
    assert len(bot.texts(ANA)) == 21  # 20 answers, then one request to slow down


@pytest.mark.parametrize(("most", "told"), [(50, 2), (1, 0)], ids=["one-by-one", "net"])
async def test_revisions_recorded_while_nobody_told_are_caught_up_on(
    bot: Running, monkeypatch: pytest.MonkeyPatch, most: int, told: int
) -> None:
    """Another writer's revisions (the CLI with the server down, another instance) are told
    one by one when this notifier next hears of one; a gap longer than `CATCH_UP` as its net
    change: an incident opened and resolved within it is then not told at all."""
    monkeypatch.setattr(customer_notify, "CATCH_UP", most)
    await ask(bot, ANA, "/subscribe 28012")
    store, service = bot.app.store, bot.app.service
    text = service.state.loaded.text
    opened = apply_change(
        text,
        OpenIncident(
            id="water-cut",
            title={"es": "Corte de agua", "en": "Water cut"},
            summary={"es": "Sin agua.", "en": "No water."},
            services=["permits"],
            areas=["centro"],
            next_update_by=NOON + dt.timedelta(hours=1),
        ),
        author="cli",
        now=NOON,
    )
    closed = apply_change(opened, ResolveIncident(id="water-cut"), author="cli", now=NOON)
    for document in (opened, closed):
        await store.record_revision(document, author="cli", source="cli")
    await service.sync_from_store()  # as NOTIFY or the file watcher would
    bot.standin.queue_message(ANA, "/mysubscriptions", user=who(ANA))  # after what was queued
    await bot.until(lambda: bot.texts(ANA)[-1].startswith("Le aviso de cambios en"))
    notices = [t for t in bot.texts(ANA) if "Corte de agua" in t]
    assert [t.split("\n")[0] for t in notices] == ["⚠️ Nuevo aviso", "✅ Solucionado"][:told]
    assert await store.revision_cursor(customer_notify.CURSOR) == 3
