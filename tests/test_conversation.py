"""The conversation, without I/O: a customer's words → the places they mean → what they are told."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.conversation import Place, answer, contact, human_contact, understand
from bot.feed.loader import load_feed
from bot.state import FeedState
from bot.store import RevisionRecord
from tests.conftest import MADRID

ROOT = Path(__file__).parents[1]
# The example feed's day, mid-morning: both its incidents open, the fibre works ahead.
MORNING = dt.datetime(2026, 11, 24, 11, 0, tzinfo=MADRID)


@pytest.fixture(scope="module")
def state() -> FeedState:
    loaded = load_feed(ROOT / "status_feed.yaml")
    record = RevisionRecord(1, loaded.content_hash, "test", "file", MORNING, loaded.text)
    return FeedState.build(loaded, record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28012", [Place("postcode", "28012")]),
        ("Chamberí", [Place("area", "chamberi")]),
        ("chamberi", [Place("area", "chamberi")]),
        ("CHAMBERY", [Place("area", "chamberi")]),  # a typo
        ("fibra", [Place("service", "fibre")]),
        ("la fibre no va", [Place("service", "fibre")]),
        ("permiso ser", [Place("service", "ser-permits")]),
        (
            "no puedo renovar el permiso en 28012",
            [Place("service", "ser-permits"), Place("postcode", "28012")],
        ),
        ("Valverde", [Place("area", "valverde")]),
        ("tres olivos", [Place("area", "tres-olivos")]),
        ("hola", []),
        ("sol", [Place("area", "sol")]),
        ("lo resolví solo", []),  # "sol" inside other words is not Sol
    ],
)
def test_what_a_message_names(state: FeedState, text: str, expected: list[Place]) -> None:
    assert sorted(understand(state, text).places, key=str) == sorted(expected, key=str)


def test_an_unknown_postcode_is_said_to_be_unknown(state: FeedState) -> None:
    understood = understand(state, "vivo en el 99999")
    assert understood.places == () and understood.unknown_postcode == "99999"


@pytest.mark.parametrize(
    "text", ["quiero hablar con una persona", "AGENT please", "can I talk to someone?"]
)
def test_asking_for_a_person_is_understood(state: FeedState, text: str) -> None:
    assert understand(state, text).wants_human


def test_the_answer_is_the_channels_own_words_for_each_incident(state: FeedState) -> None:
    got = answer(state, "28012", "es", MORNING, voice="customer")
    assert [i.id for i in got.incidents] == ["ser-renewal-down"]
    assert got.texts == (state.render("customer", "ser-renewal-down", "es", MORNING),)
    assert got.checked_at == MORNING and not got.nothing_known


def test_nothing_known_in_a_quiet_area(state: FeedState) -> None:
    got = answer(state, "Arganzuela", "en", MORNING, voice="customer")
    assert got.incidents == () and got.nothing_known


def test_a_postcode_in_two_areas_with_different_news_offers_a_choice(state: FeedState) -> None:
    # 28005 is in Palacio (Centro: the permits incident) and in Arganzuela (nothing).
    got = answer(state, "28005", "es", MORNING, voice="customer")
    assert set(got.understood.choices) == {Place("area", "palacio"), Place("area", "arganzuela")}


def test_the_human_contact_is_the_desk_of_the_service_asked_about(state: FeedState) -> None:
    fibre = [i for i in state.feed.incidents if "fibre" in i.services]
    assert human_contact(state.feed, fibre).phone == "+34 900 100 200"
    permits = [i for i in state.feed.incidents if "ser-permits" in i.services]
    assert human_contact(state.feed, permits).phone == "010"
    assert human_contact(state.feed, []).phone == "010"
    night = MORNING.replace(hour=23)
    assert contact(state, fibre, "en", night).open_now  # the fibre desk never closes
    assert not contact(state, permits, "en", night).open_now


def test_every_channel_gives_the_contact_the_conversation_gives(state: FeedState) -> None:
    """One rule: the statement's contact (said by every channel) is `human_contact` — also
    for an incident across two desks, where no one desk answers for it all."""
    from bot.statement import build_statement

    for incident in state.feed.incidents:
        statement = build_statement(state.feed, incident, "es", 1)
        assert statement.contact.phone == human_contact(state.feed, [incident]).phone
    services = state.feed.services
    desk = services[0].contact or state.feed.organization.human_contact
    other = desk.model_copy(update={"phone": "+34 900 999 999"})
    feed = state.feed.model_copy(
        update={
            "services": [
                services[0].model_copy(update={"contact": desk}),
                services[1].model_copy(update={"contact": other}),
                *services[2:],
            ]
        }
    )
    both = state.feed.incidents[0].model_copy(update={"services": [services[0].id, services[1].id]})
    said = build_statement(feed, both, "es", 1).contact.phone
    assert said == human_contact(feed, [both]).phone == feed.organization.human_contact.phone
