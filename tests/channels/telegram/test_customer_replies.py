"""The customer bot's words and its notices, without I/O: tables of what people write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.feed.loader import load_feed, parse_feed
from bot.state import FeedState
from bot.store import Place, RevisionRecord
from channels.telegram import customer_replies as replies
from channels.telegram.customer_notify import changed, kind_of_change, places_of
from tests.conftest import MADRID, SMALL_FEED

ROOT = Path(__file__).parents[3]
MORNING = dt.datetime(2026, 11, 24, 11, 0, tzinfo=MADRID)


def state_of(text: str, number: int = 1) -> FeedState:
    loaded = parse_feed(text)
    record = RevisionRecord(number, loaded.content_hash, "test", "file", MORNING, loaded.text)
    return FeedState.build(loaded, record)


@pytest.fixture(scope="module")
def example() -> FeedState:
    loaded = load_feed(ROOT / "status_feed.yaml")
    record = RevisionRecord(1, loaded.content_hash, "test", "file", MORNING, loaded.text)
    return FeedState.build(loaded, record)


@pytest.mark.parametrize(
    ("text", "locale", "title"),
    [
        ("28012", "es", "No se pueden renovar los permisos SER"),
        ("chamberi", "es", None),
        ("Chamberí", "en", None),
        ("permiso ser", "es", "No se pueden renovar los permisos SER"),
        ("no puedo renovar el permiso en 28012", "es", "No se pueden renovar los permisos SER"),
        ("SER permit renewal", "en", "SER permits cannot be renewed"),
        ("fibra", "es", "fibra"),
    ],
)
def test_answers_are_the_customer_voice_or_nothing_known(
    example: FeedState, text: str, locale: str, title: str | None
) -> None:
    said = replies.answer(example, text, locale, MORNING)
    assert said
    for one in said:
        assert one.buttons and one.buttons[0][0][1].startswith("s:")
        assert len(one.buttons[0][0][1].encode()) <= 64
    if title is None:
        nothing = "No hay problemas" if locale == "es" else "No known problems"
        assert said[0].text.startswith(nothing) and "11:00" in said[0].text
        assert example.feed.organization.status_page_url in said[0].text
    else:
        assert any(title.lower() in s.text.lower() for s in said)
        incidents = [i for i in example.feed.incidents if i.is_open]
        rendered = {example.render("customer", i, locale, MORNING) for i in incidents}
        assert all(s.text in rendered for s in said)


@pytest.mark.parametrize(
    ("text", "locale", "start"),
    [
        (
            "chamberi",
            "es",
            "No hay problemas conocidos en el distrito Chamberí (comprobado a las 11:00)",
        ),
        ("Chamberí", "en", "No known problems in the Chamberí district (checked at 11:00 AM)"),
        (
            "is fibre down in chamberi?",
            "en",
            "No known problems with Almenara Fibra home fibre in "
            "the Chamberí district (checked at 11:00 AM)",
        ),
    ],
)
def test_nothing_known_names_the_service_and_the_place_as_said(
    example: FeedState, text: str, locale: str, start: str
) -> None:
    [said] = replies.answer(example, text, locale, MORNING)
    assert said.text.startswith(start)


def test_a_postcode_in_two_areas_offers_buttons(example: FeedState) -> None:
    [choice] = replies.answer(example, "28005", "es", MORNING)
    assert choice.text == "¿A cuál se refiere?"
    assert {b[0][1] for b in choice.buttons} == {"a:area:palacio", "a:area:arganzuela"}
    [palacio] = replies.answer_place(example, Place.area("palacio"), "es", MORNING)
    assert "permisos SER" in palacio.text


def test_a_word_naming_two_services_offers_buttons() -> None:
    text = SMALL_FEED.read_text(encoding="utf-8").replace(
        "services:\n",
        "services:\n  - id: meters\n    name: {es: parquímetros de aparcamiento, en: parking"
        " meters}\n",
        1,
    )
    [choice] = replies.answer(state_of(text), "aparcamiento", "es", MORNING)
    assert {b[0][1] for b in choice.buttons} == {"a:service:meters", "a:service:permits"}


@pytest.mark.parametrize(
    ("wanted", "locale"),
    [("es", "es"), ("en-GB", "en"), ("es_ES", "es"), ("fr", "es"), (None, "es")],
)
def test_the_language_is_telegrams_when_the_feed_speaks_it(
    example: FeedState, wanted: str | None, locale: str
) -> None:
    assert replies.locale_for(example.feed, wanted) == locale


def test_control_characters_read_as_spaces() -> None:
    assert replies.clean("28012\x00\u200b\x1b[31m") == "28012   [31m"


def test_the_human_contact_and_whether_it_is_open(example: FeedState) -> None:
    night = MORNING.replace(hour=23)
    fibre = replies.human(
        example, [replies.conversation_place(Place.service("fibre"))], "en", night
    )
    assert "+34 900 100 200" in fibre.text and "It is open now." in fibre.text
    town = replies.human(example, [], "es", night)
    assert "Ahora está cerrado." in town.text


def test_changes_that_matter_and_where_they_are_heard() -> None:
    text = SMALL_FEED.read_text(encoding="utf-8")
    before = state_of(text, 1)
    same = state_of(text, 2)
    assert changed(before, same) == []
    later = state_of(
        text.replace("eta: 2026-11-24T18:00:00+01:00", "eta: 2026-11-24T20:00:00+01:00"), 3
    )
    [(old, new)] = changed(same, later)
    assert old is not None and new.id == "permits-down" and kind_of_change(old, new) == "update"
    places = places_of(later.feed, new)
    assert {Place.area("centro"), Place.area("sol"), Place.service("permits")} <= places
    assert {Place.postcode(p) for p in ("28012", "28013", "28014")} <= places
    assert Place.area("norte") not in places
    resolved = state_of(
        text.replace(
            "    status: identified\n",
            "    status: resolved\n    resolved_at:"
            " 2026-11-24T12:30:00+01:00\n    resolution: {es: Listo., en: Done.}\n",
            1,
        ),
        4,
    )
    [(old, new)] = changed(later, resolved)
    assert kind_of_change(old, new) == "fixed"
    assert changed(None, later) == []  # the first revision known: nothing to compare with


@pytest.mark.parametrize(
    ("text", "locale", "start"),
    [
        ("hola", "es", "Hola. Soy el asistente de estado"),
        ("Buenas tardes!", "es", "Hola. Soy el asistente de estado"),
        ("hi there", "en", "Hello. I am"),
        ("muchas gracias", "es", "De nada."),
        ("Thanks!", "en", "You are welcome."),
        ("hola, 28012", "es", "No se pueden renovar los permisos SER"),  # a place beats hello
        ("hola qué tal el tiempo", "es", "No he entendido"),
    ],
)
def test_small_talk_is_answered_as_such(
    example: FeedState, text: str, locale: str, start: str
) -> None:
    said = replies.answer(example, text, locale, MORNING)
    assert said[0].text.startswith(start)


def test_an_update_notice_says_what_changed_first(example: FeedState) -> None:
    text = (ROOT / "status_feed.yaml").read_text("utf-8")
    identified = "    status: identified\n    severity: major"
    changed_text = text.replace(
        "eta: 2026-11-24T18:00:00+01:00", "eta: 2026-11-24T19:30:00+01:00"
    ).replace(identified, identified.replace("identified", "monitoring"))
    assert changed_text.count("monitoring") > text.count("monitoring")
    after = state_of(changed_text, 2)
    incident = "ser-renewal-down"

    def changes(before: FeedState, now: FeedState, locale: str) -> list[str]:
        return replies.what_changed(
            before.statement(incident, locale), now.statement(incident, locale), MORNING
        )

    assert changes(example, after, "es") == [
        "estado: causa identificada → en observación",
        "solución prevista: hoy a las 18:00 → hoy a las 19:30",
    ]
    assert changes(example, example, "en") == []
