"""Renderer tables in both languages, limits under long and hostile input, template overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.feed.loader import LoadedFeed
from bot.feed.models import Status
from bot.registry import default_registry
from bot.render.facts import missing_facts, told_facts
from bot.statement import Statement, build_statements
from channels.x.renderer import x_length

RENDERERS = default_registry().renderers

URL = "https://estado.prueba.example/status#permits-down"

EXPECTED = {
    ("x", "es"): (
        "Causa identificada: Renovación de permisos caída (Centro). Solución prevista: hoy a las"
        " 18:00. Mientras tanto: Guarde el justificante de solicitud; vale como permiso hasta que"
        f" se arregle. Próxima actualización: hoy a las 14:30. {URL}"
    ),
    ("x", "en"): (
        "Cause identified: Permit renewal down (City Centre). Expected fix: today at 6:00 PM."
        " Meanwhile: Keep the request receipt; it counts as a permit until this is fixed. Next"
        f" update: today at 2:30 PM. We are sorry for the trouble. {URL}"
    ),
    ("web", "es"): (
        "Causa identificada: Renovación de permisos caída (Centro). Solución prevista: hoy a las"
        " 18:00. Mientras tanto: Guarde el justificante de solicitud; vale como permiso hasta que"
        f" se arregle. Próxima actualización: hoy a las 14:30. Más información: {URL}"
    ),
    ("web", "en"): (
        "Cause identified: Permit renewal down (City Centre). Expected fix: today at 6:00 PM."
        " Meanwhile: Keep the request receipt; it counts as a permit until this is fixed. Next"
        f" update: today at 2:30 PM. More information: {URL}"
    ),
    ("ivr", "es"): (
        "Le informamos de una incidencia: Renovación de permisos caída, en Centro. Estado: causa"
        " identificada. No se pueden renovar los permisos en línea. Solución prevista: hoy a las"
        " 18:00. Mientras tanto: Guarde el justificante de solicitud; vale como permiso hasta que"
        " se arregle. Próxima actualización: hoy a las 14:30. Sentimos las"
        " molestias. Para hablar con una persona: +34 910 000 010 (de 8:00 a 20:00)."
    ),
    ("ivr", "en"): (
        "We are dealing with a problem: Permit renewal down, in the City Centre. Status: cause"
        " identified. Permits cannot be renewed online. Expected fix: today at 6:00 PM."
        " Meanwhile: Keep the request receipt; it counts as a permit until this is fixed. Next"
        " update: today at 2:30 PM. We are sorry for the trouble. To talk to a"
        " person: +34 910 000 010 (8 AM to 8 PM)."
    ),
}


@pytest.fixture
def statements(small_feed: LoadedFeed) -> dict[tuple[str, str], Statement]:
    return build_statements(small_feed.feed, revision=1)


@pytest.mark.parametrize(("channel", "locale"), sorted(EXPECTED))
def test_renderer_table(
    statements: dict[tuple[str, str], Statement], now: dt.datetime, channel: str, locale: str
) -> None:
    text = RENDERERS[channel].render(statements[("permits-down", locale)], now)
    assert text == EXPECTED[(channel, locale)]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "es",
            "Resuelto 17 de noviembre a las 13:00: Corte de fibra (Norte). Se reparó el cable."
            " Gracias por su paciencia. https://estado.prueba.example/status#old-outage",
        ),
        (
            "en",
            "Resolved November 17 at 1:00 PM: Fibre outage (North). The cable was repaired. Thank"
            " you for your patience. https://estado.prueba.example/status#old-outage",
        ),
    ],
)
def test_resolved_incident_on_x(
    statements: dict[tuple[str, str], Statement], now: dt.datetime, locale: str, expected: str
) -> None:
    assert RENDERERS["x"].render(statements[("old-outage", locale)], now) == expected


@pytest.mark.parametrize("locale", ["es", "en"])
def test_staff_get_the_instructions_and_customers_do_not(
    statements: dict[tuple[str, str], Statement], now: dt.datetime, locale: str
) -> None:
    statement = statements[("permits-down", locale)]
    instructions = statement.staff_instructions
    assert instructions
    assert instructions in RENDERERS["staff"].render(statement, now)
    for channel in ("ivr", "web", "x", "customer"):
        assert instructions not in RENDERERS[channel].render(statement, now)


def test_the_phone_script_spells_out_no_url(
    statements: dict[tuple[str, str], Statement], now: dt.datetime
) -> None:
    statement = dataclasses.replace(
        statements[("permits-down", "es")],
        workaround="Renueve en https://sede.prueba.example/ser o en una oficina.",
    )
    said = RENDERERS["ivr"].render(statement, now)
    assert "http" not in said and "example" not in said
    assert "Renueve en nuestra web o en una oficina." in said


def test_a_passed_eta_is_not_presented_as_the_future(
    statements: dict[tuple[str, str], Statement],
) -> None:
    evening = dt.datetime(2026, 11, 24, 19, 0, tzinfo=statements[("permits-down", "en")].timezone)
    text = RENDERERS["x"].render(statements[("permits-down", "en")], evening)
    assert "the expected fix time (today at 6:00 PM) has passed" in text


def test_no_eta_is_said_honestly(
    statements: dict[tuple[str, str], Statement], now: dt.datetime
) -> None:
    statement = dataclasses.replace(statements[("permits-down", "es")], eta=None)
    for renderer in RENDERERS.values():
        assert "Aún no tenemos una hora estimada de solución." in renderer.render(statement, now)


HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script> & \"quotes\" 'single'"


@pytest.mark.parametrize("channel", sorted(RENDERERS))
@pytest.mark.parametrize("locale", ["es", "en"])
def test_long_inputs_stay_within_every_limit(
    statements: dict[tuple[str, str], Statement], now: dt.datetime, channel: str, locale: str
) -> None:
    renderer = RENDERERS[channel]
    statement = dataclasses.replace(
        statements[("permits-down", locale)],
        title=("Título larguísimo " * 6)[:80],  # the longest a title may be
        summary=("Resumen. " * 50)[:400],
        workaround=("Vaya a la oficina más cercana con el justificante. " * 8)[:300],
        apology=("Lo sentimos mucho " * 20)[:200],
        staff_instructions=("No multe " * 200)[:1000],
        areas=tuple(f"Barrio {n}" for n in range(80)),
        services=tuple(f"Servicio {n}" for n in range(30)),
        latest_update=HOSTILE * 50,
    )
    text = renderer.render(statement, now)
    assert renderer.length(text) <= renderer.max_length
    told = told_facts(statement, text, now, lambda t: renderer.clean(t, locale))
    assert told["status"] == told["eta"] == "whole", text
    assert renderer.clean(statement.title, locale).strip() in text  # the title is never cut
    assert "…" not in text  # nothing is cut inside a sentence: whole ones are dropped


WORKAROUND = {
    "es": "Guarde el justificante de solicitud, que vale como permiso hasta que se arregle. "
    "Si le multan, presente el justificante en la oficina de Atención Ciudadana de su distrito "
    "o por la sede electrónica en el plazo de veinte días.",
    "en": "Keep the request receipt, which counts as a permit until this is fixed. If you are "
    "fined, show the receipt at your district's Citizen Service office or on the e-government "
    "site within twenty days of the fine.",
}


@pytest.mark.parametrize("locale", ["es", "en"])
def test_a_long_workaround_keeps_whole_sentences_and_the_check_sees_what_is_there(
    statements: dict[tuple[str, str], Statement], now: dt.datetime, locale: str
) -> None:
    statement = dataclasses.replace(
        statements[("permits-down", locale)], workaround=WORKAROUND[locale]
    )
    first, second = WORKAROUND[locale].split(". ", 1)
    for renderer in RENDERERS.values():
        text = renderer.render(statement, now)
        assert renderer.length(text) <= renderer.max_length
        told = told_facts(statement, text, now, lambda t, r=renderer: r.clean(t, locale))
        cleaned_first = renderer.clean(first + ".", locale)
        cleaned_second = renderer.clean(second, locale)
        if told["workaround"] == "whole":
            assert cleaned_first in text and cleaned_second in text
        elif told["workaround"] == "part":
            assert cleaned_first in text and cleaned_second[:20] not in text
            assert missing_facts(statement, text, now, lambda t, r=renderer: r.clean(t, locale))
        else:
            assert cleaned_first[:20] not in text, (renderer.name, text)
    x_text = RENDERERS["x"].render(statement, now)
    assert "…" not in x_text
    assert missing_facts(statement, x_text, now) != []  # X cannot hold it all: said, not assumed


def test_x_counts_urls_as_23_and_wide_characters_as_2() -> None:
    assert x_length("https://example.org/" + "a" * 100) == 23
    assert x_length("停電") == 4
    assert x_length("café") == 4


def test_a_template_from_the_feed_replaces_the_built_in_one(
    statements: dict[tuple[str, str], Statement], now: dt.datetime
) -> None:
    override = {"es": "{{ f.status|upper }} — {{ fit(s.title) }}. {{ s.url }}"}
    text = RENDERERS["x"].render(statements[("permits-down", "es")], now, override)
    assert text == f"CAUSA IDENTIFICADA — Renovación de permisos caída. {URL}"


def test_templates_from_the_feed_are_sandboxed(
    statements: dict[tuple[str, str], Statement], now: dt.datetime
) -> None:
    from jinja2.exceptions import SecurityError

    evil = {"es": "{{ s.__class__.__mro__[1].__subclasses__() }}"}
    with pytest.raises(SecurityError):
        RENDERERS["x"].render(statements[("permits-down", "es")], now, evil)


def test_every_status_renders_in_every_channel(
    statements: dict[tuple[str, str], Statement], now: dt.datetime
) -> None:
    base = statements[("permits-down", "en")]
    for status in (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING):
        statement = dataclasses.replace(base, status=status)
        for renderer in RENDERERS.values():
            text = renderer.render(statement, now)
            assert missing_facts(statement, text, now, lambda t, r=renderer: r.clean(t, "en")) == []
