"""Open, update, resolve: the YAML keeps its comments and order, and the result validates."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.feed.changes import (
    ChangeError,
    OpenIncident,
    ResolveIncident,
    UnknownIncident,
    UpdateIncident,
    apply_change,
    parse_when,
)
from bot.feed.loader import parse_feed
from bot.feed.models import Status

OPEN = OpenIncident(
    id="water-cut",
    title={"es": "Corte de agua", "en": "Water cut"},
    summary={"es": "Sin agua en Norte.", "en": "No water in the North."},
    services=["fibre"],
    areas=["norte"],
    next_update_by=dt.datetime(2026, 11, 24, 13, 0, tzinfo=dt.UTC),
    workaround={"es": "Fuente pública en la plaza.", "en": "Public fountain in the square."},
)


def test_open_adds_a_valid_incident_and_keeps_comments(small_text: str, now: dt.datetime) -> None:
    text = apply_change(small_text, OPEN, author="ana", now=now)
    assert text.startswith("# A small feed the tests build on")
    assert text.index("permits-down") < text.index("water-cut")  # appended, order kept
    incident = parse_feed(text).feed.incident("water-cut")
    assert incident is not None
    assert incident.status is Status.INVESTIGATING
    assert incident.started_at == now
    assert [(u.author, u.message["en"]) for u in incident.updates] == [
        ("ana", "No water in the North.")
    ]
    # Times are written in the organization's zone, as an operator would: plain, unquoted.
    assert "started_at: 2026-11-24T12:00:00+01:00\n" in text
    assert "next_update_by: 2026-11-24T14:00:00+01:00\n" in text


def test_open_refuses_an_existing_id(small_text: str, now: dt.datetime) -> None:
    with pytest.raises(ChangeError, match="already exists"):
        apply_change(
            small_text, OPEN.model_copy(update={"id": "permits-down"}), author="a", now=now
        )


def test_update_changes_only_what_it_names_and_adds_a_timeline_entry(
    small_text: str, now: dt.datetime
) -> None:
    change = UpdateIncident(
        id="permits-down",
        status=Status.MONITORING,
        eta=dt.datetime(2026, 11, 24, 16, 0, tzinfo=now.tzinfo),
        message={"es": "Aplicado un arreglo.", "en": "A fix is in place."},
    )
    text = apply_change(small_text, change, author="luis", now=now)
    incident = parse_feed(text).feed.incident("permits-down")
    assert incident is not None
    assert incident.status is Status.MONITORING
    assert incident.eta == dt.datetime(2026, 11, 24, 16, 0, tzinfo=now.tzinfo)
    assert incident.workaround is not None  # untouched
    assert incident.updates[-1].author == "luis"
    assert incident.updates[-1].message["en"] == "A fix is in place."
    before = small_text.splitlines()
    after = text.splitlines()
    assert len(after) - len(before) == 4  # one timeline entry, nothing else moved


def test_a_status_change_without_a_message_gets_a_plain_one(
    small_text: str, now: dt.datetime
) -> None:
    text = apply_change(
        small_text, UpdateIncident(id="permits-down", status=Status.MONITORING), author="a", now=now
    )
    incident = parse_feed(text).feed.incident("permits-down")
    assert incident is not None
    assert incident.updates[-1].message == {
        "es": "Nuevo estado: en observación.",
        "en": "New status: monitoring.",
    }


def test_clearing_the_eta(small_text: str, now: dt.datetime) -> None:
    text = apply_change(
        small_text, UpdateIncident(id="permits-down", clear_eta=True), author="a", now=now
    )
    incident = parse_feed(text).feed.incident("permits-down")
    assert incident is not None and incident.eta is None


def test_resolve(small_text: str, now: dt.datetime) -> None:
    change = ResolveIncident(id="permits-down", message={"es": "Arreglado.", "en": "Fixed."})
    text = apply_change(small_text, change, author="a", now=now)
    incident = parse_feed(text).feed.incident("permits-down")
    assert incident is not None
    assert incident.status is Status.RESOLVED
    assert incident.resolved_at == now
    assert incident.resolution == {"es": "Arreglado.", "en": "Fixed."}


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (UpdateIncident(id="nope", status=Status.MONITORING), UnknownIncident, "no incident"),
        (ResolveIncident(id="old-outage"), ChangeError, "already resolved"),
        (UpdateIncident(id="permits-down"), ChangeError, "nothing to change"),
    ],
)
def test_changes_that_cannot_apply(
    small_text: str,
    now: dt.datetime,
    change: UpdateIncident | ResolveIncident,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        apply_change(small_text, change, author="a", now=now)


@pytest.mark.parametrize(
    ("said", "at", "means"),
    [
        ("+2h", (12, 0, 7), (14, 0)),  # the seconds of "now" do not move a round time
        ("+1h", (12, 1, 51), (13, 5)),  # up to the next five minutes, never earlier
        ("+45m", (12, 0, 0), (12, 45)),
        ("-2h", (12, 0, 30), (10, 0)),
        ("18:30", (12, 1, 51), (18, 30)),
    ],
)
def test_times_typed_mean_what_a_person_means(
    said: str, at: tuple[int, int, int], means: tuple[int, int]
) -> None:
    madrid = dt.timezone(dt.timedelta(hours=1))
    now = dt.datetime(2026, 11, 24, *at, tzinfo=madrid)
    assert parse_when(said, now, madrid) == dt.datetime(2026, 11, 24, *means, tzinfo=madrid)
