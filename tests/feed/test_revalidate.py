"""A change validated item by item (`revalidate`) gives exactly what validating the whole
feed gives — the same Feed, the same state, the same pending edges — and an invalid one is
refused with the same errors, lines included. Random changes to a generated feed, with
a seeded generator (the same cases every run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.edges import EdgePlan, pending_edges
from bot.feed.changes import (
    Change,
    ChangeError,
    EdgeToTell,
    Edit,
    OpenIncident,
    ResolveIncident,
    TellEdges,
    UpdateIncident,
    _Layout,
    edit_feed,
)
from bot.feed.loader import LoadedFeed, parse_feed, revalidate
from bot.feed.lookup import Lookup
from bot.feed.models import Kind, Status
from bot.feed.yamlsource import FeedError
from bot.state import FeedState
from bot.statement import build_statements
from bot.store import RevisionRecord
from tests.conftest import MADRID

FILE = "status_feed.yaml"
DAY = dt.datetime(2026, 11, 24, 0, 0, tzinfo=MADRID)
HEADER = """\
# A generated feed: comments, blank lines, both styles of text, quoted ids.
version: 1
organization:
  name: {es: Ayuntamiento de Prueba, en: Test City Council}
  timezone: Europe/Madrid
  locales: [es, en]
  default_locale: es
  status_page_url: https://estado.prueba.example/status
  human_contact:
    phone: "+34 910 000 010"
    hours: {es: de 8:00 a 20:00, en: 8 AM to 8 PM}
  apology: {es: Sentimos las molestias., en: We are sorry for the trouble.}
services:
  - id: permits
    name: {es: permisos, en: permits}
  - id: fibre
    name: {es: fibra, en: fibre}
    contact:
      phone: "+34 900 100 200"
      hours: {es: 24 horas, en: 24 hours}
  - id: water
    name: {es: agua, en: water}
areas:
  - id: centro
    name: {es: Centro, en: City Centre}
    postcodes: ["28012", "28013"]
  - id: sol
    name: {es: Sol, en: Sol}
    parent: centro
    postcodes: ["28013", "28014"]
  - id: norte
    name: {es: Norte, en: North}
    postcodes: ["28034"]
  - id: sur
    name: {es: Sur, en: South}
    postcodes: ["28041", "28013"]
incidents:
"""
FOOTER = """\

# Staff and channels come after the incidents.
staff_groups:
  - id: ops
    name: Operations
channels:
  webhook:
    options:
      urls: [http://127.0.0.1:9/a]
"""
SERVICES = ["permits", "fibre", "water"]
AREAS = ["centro", "sol", "norte", "sur"]


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def incident_lines(n: int, draw: st.DrawFn) -> list[str]:
    """Incident `n`: open, maintenance or resolved, in one of the layouts people write."""
    kind = draw(st.sampled_from(["open", "open", "maintenance", "resolved"]))
    started = DAY + dt.timedelta(minutes=draw(st.integers(0, 600)))
    ident = f'"incident-{n}"' if draw(st.booleans()) else f"incident-{n}"
    lines = [f"  - id: {ident}"]
    if kind == "maintenance":
        lines.append("    kind: maintenance")
    if draw(st.booleans()):
        lines.append(f"    title: {{es: Corte {n}, en: Outage {n}}}")
    else:
        lines += ["    title:", f"      es: Corte {n}", f"      en: Outage {n}"]
    lines.append(f"    summary: {{es: Sin servicio {n}., en: No service {n}.}}")
    status = {"open": "identified", "maintenance": "scheduled", "resolved": "resolved"}[kind]
    lines.append(f"    status: {status}")
    services = draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=2, unique=True))
    areas = draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=2, unique=True))
    lines += [f"    services: [{', '.join(services)}]", f"    areas: [{', '.join(areas)}]"]
    lines.append(f"    started_at: {_stamp(started)}")
    if kind == "open":
        update = started + dt.timedelta(minutes=draw(st.integers(10, 600)))
        lines.append(f"    next_update_by: {_stamp(update)}")
        if draw(st.booleans()):
            lines.append(f"    eta: {_stamp(update + dt.timedelta(hours=2))}")
    if kind == "maintenance":
        starts = started + dt.timedelta(days=1)
        lines += [
            "    maintenance:",
            f"      starts_at: {_stamp(starts)}",
            f"      ends_at: {_stamp(starts + dt.timedelta(hours=4))}",
        ]
    if kind == "resolved":
        lines += [
            f"    resolved_at: {_stamp(started + dt.timedelta(hours=3))}",
            "    resolution: {es: Arreglado., en: Fixed.}",
        ]
    if draw(st.booleans()):
        lines += [
            "    updates:",
            f"      - at: {_stamp(started)}",
            f"        status: {'investigating' if kind != 'maintenance' else 'scheduled'}",
            "        message: {es: Investigamos., en: We are looking into it.}",
        ]
    if draw(st.booleans()):
        lines += ["", "    # a comment closing the item"]
    elif draw(st.booleans()):
        lines.append("")
    return lines


@st.composite
def feeds(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 8))
    body = [line for n in range(count) for line in incident_lines(n, draw)]
    return HEADER + "\n".join(body) + "\n" + FOOTER


def texts(draw: st.DrawFn, *, complete: bool = True) -> dict[str, str]:
    words = draw(st.sampled_from(["Seguimos.", "Casi listo.", "Sin novedad."]))
    # Now and then a text missing a locale: the feed's rules refuse it.
    if not complete or draw(st.integers(0, 9)) == 0:
        return {"es": words}
    return {"es": words, "en": f"{words} (en)"}


@st.composite
def changes(draw: st.DrawFn, loaded: LoadedFeed, now: dt.datetime) -> Change:
    """A change an operator or the scheduler could make, now and then an invalid one."""
    ids = [i.id for i in loaded.feed.incidents]
    some_id = draw(st.sampled_from([*ids, "incident-new"]))
    place = st.sampled_from([*AREAS, *AREAS, "nowhere"])
    service = st.sampled_from([*SERVICES, *SERVICES, "gas"])
    later = now + dt.timedelta(minutes=draw(st.integers(-600, 600)))
    action = draw(st.sampled_from(["update", "update", "resolve", "open", "edges"]))
    if action == "edges":
        due = pending_edges(loaded.feed)
        if due:
            chosen = draw(st.lists(st.sampled_from(due), min_size=1, max_size=3, unique=True))
            told = [EdgeToTell(incident=e.incident_id, edge=e.edge, at=e.at) for e in chosen]
            return TellEdges(id=",".join(sorted({e.incident for e in told})), edges=told)
    if action == "open":
        maintenance = draw(st.booleans())
        return OpenIncident(
            id=some_id,
            kind=Kind.MAINTENANCE if maintenance else Kind.INCIDENT,
            status=Status.SCHEDULED if maintenance else Status.INVESTIGATING,
            title=texts(draw),
            summary=texts(draw),
            services=draw(st.lists(service, min_size=1, max_size=2, unique=True)),
            areas=draw(st.lists(place, min_size=1, max_size=2, unique=True)),
            started_at=now,
            next_update_by=None if maintenance else later,
            maintenance_starts_at=later if maintenance else None,
            maintenance_ends_at=later + dt.timedelta(hours=2) if maintenance else None,
            confirm=True,
        )
    if action == "resolve":
        return ResolveIncident(id=some_id, message=texts(draw))
    fields: dict[str, object] = {}
    for name in draw(
        st.lists(
            st.sampled_from(["status", "eta", "next", "message", "areas", "services", "title"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    ):
        if name == "status":
            fields["status"] = draw(st.sampled_from(list(Status)))
        elif name == "eta":
            fields["eta"] = later
        elif name == "next":
            fields["next_update_by"] = later + dt.timedelta(minutes=30)
        elif name == "message":
            fields["message"] = texts(draw)
        elif name == "areas":
            fields["areas"] = draw(st.lists(place, min_size=1, max_size=2, unique=True))
        elif name == "services":
            fields["services"] = draw(st.lists(service, min_size=1, max_size=2, unique=True))
        else:
            fields["title"] = texts(draw)
    return UpdateIncident.model_validate({"id": some_id, "confirm": True, **fields})


def full(text: str) -> LoadedFeed | list[str]:
    try:
        return parse_feed(text, FILE)
    except FeedError as error:
        return [str(p) for p in error.problems]


def fast(previous: LoadedFeed, edit: Edit) -> LoadedFeed | list[str]:
    try:
        return revalidate(previous, edit, FILE)
    except FeedError as error:
        return [str(p) for p in error.problems]


def record(number: int, loaded: LoadedFeed) -> RevisionRecord:
    return RevisionRecord(number, loaded.content_hash, "t", "test", DAY, loaded.text)


def same_lookup(a: Lookup, b: Lookup) -> None:
    for name in ("_by_area", "_by_service", "_by_postcode", "_open", "areas_of_postcode"):
        assert getattr(a, name) == getattr(b, name), name
    assert (a.area_ids, a.service_ids, a.postcode_length) == (
        b.area_ids,
        b.service_ids,
        b.postcode_length,
    )


@dataclass
class Run:
    """A feed taking changes one after the other, as the service keeps it."""

    loaded: LoadedFeed
    edit: Edit
    state: FeedState
    plan: EdgePlan = field(default_factory=EdgePlan)
    taken: int = 0  # changes validated item by item
    refused: int = 0


def check_one(run: Run, change: Change, now: dt.datetime) -> None:
    try:
        edit = edit_feed(run.loaded.text, change, author="ana", now=now, layout=run.edit.layout)
    except ChangeError:
        return
    # The layout carried from edit to edit is the one the new text has.
    assert edit.layout is None or edit.layout == _Layout.of(edit.text)
    expected, got = full(edit.text), fast(run.loaded, edit)
    if isinstance(expected, list):
        assert got == expected  # refused, with the very same errors
        run.refused += 1
        return
    assert isinstance(got, LoadedFeed)
    assert got == expected  # feed, text, hash, file
    assert got.feed.model_dump() == expected.feed.model_dump()
    assert got.rules == expected.rules
    previous = run.loaded.feed.incidents
    kept = [i for i in got.feed.incidents if any(i is p for p in previous)]
    if edit.layout is not None and got.rules is not None and len(previous) > len(edit.touched):
        assert kept, "the incidents untouched are the previous revision's own objects"
        run.taken += 1
    number = run.state.revision.number + 1
    state = FeedState.build(got, record(number, got), previous=run.state)
    anew = FeedState.build(expected, record(number, expected))
    assert dict(state.statements) == dict(anew.statements)
    assert dict(state.statements) == build_statements(expected.feed, number)
    same_lookup(state.lookup, anew.lookup)
    assert run.plan.update(got.feed) == pending_edges(expected.feed)
    run.loaded, run.edit, run.state = got, edit, state


def test_a_change_validated_item_by_item_is_the_whole_validation() -> None:
    taken = refused = 0

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def changes_in_turn(data: st.DataObject) -> None:
        nonlocal taken, refused
        text = data.draw(feeds())
        loaded = parse_feed(text, FILE)
        run = Run(loaded, Edit.of(text), FeedState.build(loaded, record(1, loaded)))
        run.plan.update(loaded.feed)
        now = DAY + dt.timedelta(hours=12)
        for step in range(data.draw(st.integers(1, 6))):
            check_one(run, data.draw(changes(run.loaded, now)), now + dt.timedelta(minutes=step))
        taken += run.taken
        refused += run.refused

    changes_in_turn()
    # Not vacuous: most changes were validated item by item, and some were refused.
    assert taken >= 40 and refused >= 5, (taken, refused)


SMALL_CHANGE = UpdateIncident(id="permits-down", message={"es": "Sigue.", "en": "Still."})


def small(small_text: str) -> tuple[LoadedFeed, Edit]:
    loaded = parse_feed(small_text, FILE)
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=MADRID)
    return loaded, edit_feed(small_text, SMALL_CHANGE, author="ana", now=now)


def tampered(edit: Edit, old: str, new: str) -> Edit:
    """`edit` as if the change had written `new` for `old` in the item it touched."""
    assert edit.layout is not None
    (k,) = edit.touched
    item = edit.item_text(k)
    assert old in item, item
    start, end = edit.layout.items[k]
    lines = edit.layout.lines
    text = "".join(lines[:start]) + item.replace(old, new, 1) + "".join(lines[end:])
    return Edit(text, _Layout.of(text), edit.touched, edit.replaced)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("id: permits-down", "id: old-outage", id="an-id-taken"),
        pytest.param("areas: [centro]", "areas: [nowhere]", id="an-unknown-area"),
        pytest.param("services: [permits]", "services: [gas]", id="an-unknown-service"),
        pytest.param("en: Still.", "fr: Encore.", id="a-locale-undeclared"),
        pytest.param("severity: major", "severity: 3", id="a-wrong-type"),
        pytest.param("severity: major", "severity: major\n    colour: red", id="an-unknown-key"),
        pytest.param("status: identified", "status: scheduled", id="a-maintenance-status"),
        pytest.param("eta: 2026-11-24T18:00", "eta: 2026-11-23T18:00", id="eta-before-start"),
        pytest.param("severity: major", "severity: major\n    severity: minor", id="a-key-twice"),
        pytest.param("severity: major", "severity: [major", id="broken-yaml"),
    ],
)
def test_an_invalid_item_is_refused_with_the_whole_validations_errors(
    small_text: str, old: str, new: str
) -> None:
    previous, edit = small(small_text)
    bad = tampered(edit, old, new)
    errors = full(bad.text)
    assert isinstance(errors, list) and errors
    assert fast(previous, bad) == errors


def test_an_anchor_in_the_item_is_validated_whole(
    small_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alias elsewhere may name an anchor of the item changed: the feed is read whole."""
    previous, edit = small(small_text)
    anchored = tampered(edit, "areas: [centro]", "areas: &where [centro]")
    whole: list[str] = []
    monkeypatch.setattr("bot.feed.loader.parse_feed", lambda text, *a: whole.append(text))
    revalidate(previous, anchored, FILE)
    assert whole == [anchored.text]


def test_an_edit_of_the_whole_feed_is_validated_whole(
    small_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous, _ = small(small_text)
    whole: list[str] = []
    monkeypatch.setattr("bot.feed.loader.parse_feed", lambda text, *a: whole.append(text))
    revalidate(previous, Edit(small_text + "\n"), FILE)
    assert whole == [small_text + "\n"]
