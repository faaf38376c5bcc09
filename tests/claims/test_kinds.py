"""Every kind of finding, in Spanish and English: what must be found, and its near misses."""

from __future__ import annotations

import pytest

from bot.claims import lint_reply
from bot.feed.models import Feed
from tests.claims.conftest import EXAMPLE_NOON

SER = {"incident": "ser-renewal-down"}
FIBRE = {"incident": "fibre-outage-north"}
PORTAL = {"incident": "portal-maintenance"}
PAYMENTS = {"incident": "water-bills-delay"}

# (context, text, the kind, the words it must underline); a None kind: nothing to find.
CASES: list[tuple[dict[str, str], str, str | None, str]] = [
    # eta: another time, a day, a relative amount, a deadline; none when the feed has none
    (SER, "Estará arreglado a las 20:00", "eta", "a las 20:00"),
    (SER, "Vuelve a las 8 de la tarde 🙏", "eta", "a las 8 de la tarde"),
    (SER, "mañana por la mañana lo tienes", "eta", "mañana por la mañana"),
    (SER, "en dos horas estará, aprox", "eta", "en dos horas"),
    (SER, "listo antes de las 15:00", "eta", "antes de las 15:00"),
    (SER, "back at 8 tonight", "eta", "at 8 tonight"),
    (SER, "fixed tmrw morning", "eta", "tmrw morning"),
    (SER, "fixed by tmrw morning", None, ""),  # a deadline later than the ETA is kept
    (SER, "ETA in 30 mins", "eta", "in 30 mins"),
    (FIBRE, "La fibra vuelve esta tarde", "eta", "esta tarde"),
    (FIBRE, "Antes del viernes estará", "eta", "Antes del viernes"),
    (FIBRE, "should be back by tonight", "eta", "by tonight"),
    (PORTAL, "The portal will be back at 6am", "eta", "at 6am"),
    (SER, "Estará a las seis de la tarde", None, ""),
    (SER, "a las 18h aprox", None, ""),
    (SER, "back by 6 🤞", None, ""),
    (SER, "in 6 hrs", None, ""),
    (SER, "Fix expected at six pm", None, ""),
    (SER, "Caído desde las 8:00 de esta mañana", None, ""),
    (SER, "Our office opens at 8", None, ""),
    (SER, "It went down at 8:05", None, ""),
    (FIBRE, "No estimate yet, sorry", None, ""),
    (PORTAL, "Sin servicio de 23:00 a 03:00 por mantenimiento", None, ""),
    # resolved: fixed while open, down once resolved, planned or not
    (SER, "Ya está solucionado 👍", "resolved", "Ya está solucionado"),
    (SER, "ya funciona!!", "resolved", "ya funciona"),
    (FIBRE, "It's fixed now, try again", "resolved", "fixed"),
    (FIBRE, "all sorted, back to normal", "resolved", "all sorted"),
    (PAYMENTS, "Seguimos trabajando en los pagos", "resolved", "Seguimos trabajando"),
    (PAYMENTS, "payments are still down", "resolved", "are still down"),
    (SER, "Es un mantenimiento programado", "resolved", "un mantenimiento programado"),
    (SER, "due to planned works", "resolved", "planned works"),
    (PORTAL, "Es por una avería", "resolved", "avería"),
    (PORTAL, "It's an unexpected outage", "resolved", "unexpected"),
    (SER, "Todavía no está solucionado", None, ""),
    (SER, "Cuando esté arreglado te avisamos", None, ""),
    (SER, "¿Ya te funciona?", None, ""),
    (SER, "Not fixed yet, sorry", None, ""),
    (SER, "We'll let you know once it's fixed", None, ""),
    (PAYMENTS, "Los pagos ya funcionan", None, ""),
    (PORTAL, "It's scheduled maintenance", None, ""),
    # area: said affected where it is not, said unaffected where it is
    (SER, "Solo afecta a Chamberí", "area", "Chamberí"),
    (SER, "El 28012 no está afectado", "area", "28012"),
    (SER, "Tres Olivos is affected too", "area", "Tres Olivos"),
    (FIBRE, "Fuencarral isn't affected", "area", "Fuencarral"),
    ({"postcode": "28013"}, "Tu zona no está afectada", "area", "Tu zona"),
    ({"postcode": "28048"}, "Not in your area, sorry", "area", "your area"),
    (SER, "Chamberi tambien esta afectado", "area", "Chamberi"),
    (SER, "Sí, Sol y Palacio están afectados", None, ""),
    (SER, "No, Chamberí no está afectado", None, ""),
    (FIBRE, "Yes, Fuencarral and Tres Olivos are both affected", None, ""),
    ({"postcode": "28049"}, "Yes, your postcode is affected", None, ""),
    (SER, "Hay cortes de luz en la zona, pero no es lo nuestro", None, ""),
    # service: another service than the incident's
    (SER, "la fibra volverá a las 18h", "service", "fibra"),
    (SER, "The fibre outage should be fixed by 6pm", "service", "fibre"),
    (FIBRE, "El permiso SER se podrá renovar pronto", "service", "permiso"),
    (FIBRE, "The online portal is down too", "service", "portal"),
    (SER, "La fibra no tiene nada que ver", None, ""),
    (SER, "No es la fibra, es el sistema de permisos", None, ""),
    # contact: a phone, a link or opening hours the feed does not give
    (SER, "Llama al 91 555 12 34", "contact", "91 555 12 34"),
    (SER, "Call us on 900 100 300", "contact", "900 100 300"),
    (SER, "Entra en www.almenara.example/permisos", "contact", "www.almenara.example/permisos"),
    (SER, "Llámanos de 9 a 14h", "contact", "de 9 a 14h"),
    (SER, "We're open Mon-Fri", "contact", "Mon-Fri"),
    (SER, "Call 010, open 24/7", "contact", "24/7"),
    (FIBRE, "The fibre desk is open 9 to 6", "contact", "9 to 6"),
    (SER, "Llama al 010, de lunes a sábado de 8 a 20h", None, ""),
    (FIBRE, "Fibre desk: +34 900 100 200, open 24 hours", None, ""),
    (SER, "Info: https://estado.almenara.example/status#ser", None, ""),
    (SER, "Formulario en https://www.almenara.example/contacto.", None, ""),
    (SER, "Emergencias: 112", None, ""),
    # next_update: a later update than next_update_by promises
    (SER, "Te informamos a las 17:00", "next_update", "a las 17:00"),
    (SER, "Mañana te contamos", "next_update", "Mañana"),
    (FIBRE, "Update at 5pm", "next_update", "at 5pm"),
    (FIBRE, "We'll let you know tomorrow", "next_update", "tomorrow"),
    (SER, "Próxima actualización antes de las 14:30", None, ""),
    (FIBRE, "next update by 1:30pm", None, ""),
]


@pytest.mark.parametrize(("context", "text", "kind", "words"), CASES)
def test_finds_each_kind_and_only_it(
    example_feed: Feed, context: dict[str, str], text: str, kind: str | None, words: str
) -> None:
    result = lint_reply(text, example_feed, EXAMPLE_NOON, **context)
    if kind is None:
        assert result.findings == (), result.findings
        assert result.ok
        return
    assert {f.kind for f in result.findings} == {kind}, result.findings
    [finding] = [f for f in result.findings if f.claim == words] or result.findings[:1]
    assert finding.claim == words
    assert text[finding.start : finding.end] == words
    assert finding.blocks and not result.ok
    assert finding.feed_says


@pytest.mark.parametrize(
    ("text", "feed_says", "suggestion"),
    [
        (
            "Estará a las 20:00",
            "Hora estimada de solución: hoy a las 18:00",
            "hoy a las 18:00",
        ),
        ("Back at 8pm", "Estimated fix: today at 6:00 PM", "today at 6:00 PM"),
        (
            "Ya está solucionado",
            "Estado: causa identificada; todavía no está resuelto",
            "todavía no está solucionado; calculamos que hoy a las 18:00",
        ),
        ("Next update at 4pm", "Next update at the latest: today at 2:30 PM", "today at 2:30 PM"),
    ],
)
def test_findings_say_what_the_feed_says_in_the_replys_language(
    example_feed: Feed, text: str, feed_says: str, suggestion: str
) -> None:
    [finding] = lint_reply(text, example_feed, EXAMPLE_NOON, **SER).findings
    assert (finding.feed_says, finding.suggestion) == (feed_says, suggestion)


def test_no_estimate_is_not_a_promise(example_feed: Feed) -> None:
    [finding] = lint_reply("Volverá a las 18h", example_feed, EXAMPLE_NOON, **FIBRE).findings
    assert finding.feed_says == (
        "Todavía no hay hora estimada de solución; próxima actualización hoy a las 13:30"
    )


@pytest.mark.parametrize(
    ("text", "incidents", "kinds"),
    [
        ("La fibra en Valverde vuelve a las 18h", ("fibre-outage-north",), {"eta"}),
        ("Hay una avería de fibra en Chamberí", ("fibre-outage-north",), {"area"}),
        ("Los pagos con tarjeta ya funcionan", ("water-bills-delay",), set()),
        ("card payments are still failing", ("water-bills-delay",), {"resolved"}),
        ("The SER permits are back at 6pm", ("ser-renewal-down",), set()),
    ],
)
def test_without_context_the_text_names_its_incident(
    example_feed: Feed, text: str, incidents: tuple[str, ...], kinds: set[str]
) -> None:
    result = lint_reply(text, example_feed, EXAMPLE_NOON)
    assert result.incidents == incidents
    assert {f.kind for f in result.findings} == kinds


def test_a_place_given_narrows_to_what_is_happening_there(example_feed: Feed) -> None:
    result = lint_reply("Vuelve en una hora", example_feed, EXAMPLE_NOON, postcode="28 048")
    assert result.incidents == ("fibre-outage-north",)
    assert [f.kind for f in result.findings] == ["eta"]
    quiet = lint_reply("No hay incidencias en tu zona", example_feed, EXAMPLE_NOON, area="chamberi")
    assert quiet.ok  # the portal's maintenance is tonight, not now
