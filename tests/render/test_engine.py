"""The fitting machinery: shortening, speakable text, lists of names."""

from __future__ import annotations

import dataclasses

import pytest
from jinja2 import Environment

from bot.feed.loader import LoadedFeed
from bot.render.engine import join_names, render_fitted, shorten, speakable
from bot.statement import build_statements
from tests.conftest import NOON


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short text", 40, "short text"),
        ("  several   spaces\nand lines ", None, "several spaces and lines"),
        ("one two three four five six seven", 20, "one two three four…"),
        ("abcdefghijklmnopqrstuvwxyz", 10, "abcdefghi…"),
        ("Keep the receipt, it counts", 18, "Keep the receipt…"),
    ],
)
def test_shorten(text: str, limit: int | None, expected: str) -> None:
    result = shorten(text, limit)
    assert result == expected
    if limit is not None:
        assert len(result) <= limit


def test_speakable_removes_web_addresses() -> None:
    said = speakable("Renueve en https://sede.example/permisos o en www.example.org hoy", "es")
    assert said == "Renueve en nuestra web o en nuestra web hoy"


@pytest.mark.parametrize(
    ("names", "most", "expected"),
    [
        ((), 3, ""),
        (("Centro",), 3, "Centro"),
        (("Centro", "Sol"), 3, "Centro y Sol"),
        (("Centro", "Sol", "Palacio", "Cortes"), 2, "Centro, Sol y 2 zonas más"),
    ],
)
def test_join_names(names: tuple[str, ...], most: int, expected: str) -> None:
    assert join_names(names, "es", most) == expected


def test_sentences_split_at_their_ends_only() -> None:
    from bot.render.engine import sentences

    assert sentences("Vaya a la web.  Pague 2.50 € en www.x.es si puede. ¿Dudas? Llame.") == [
        "Vaya a la web.",
        "Pague 2.50 € en www.x.es si puede.",
        "¿Dudas?",
        "Llame.",
    ]


def test_places_take_their_article_and_proper_names_do_not() -> None:
    from bot.render.engine import with_article

    assert with_article("distrito Centro", "es") == "el distrito Centro"
    assert with_article("zona Norte", "es") == "la zona Norte"
    assert with_article("Centro", "es") == "Centro"
    assert with_article("el barrio de Sol", "es") == "el barrio de Sol"
    assert with_article("North district", "en") == "the North district"
    assert with_article("Sol", "en") == "Sol"


WORKAROUND = "Vaya a una oficina. Lleve el DNI. Pida cita. Traiga el recibo. Pague allí. Espere."


def fitted_with_count(small_feed: LoadedFeed, max_length: int) -> tuple[str, int]:
    """The permits incident with long facts, through a template that says only its title and
    workaround: the text, and how many times the template was rendered."""
    statement = build_statements(small_feed.feed, revision=1)[("permits-down", "es")]
    statement = dataclasses.replace(
        statement,
        workaround=WORKAROUND,
        summary="Uno. Dos. Tres. Cuatro.",
        apology="Perdón. De verdad.",
    )
    renders = []

    def tick() -> str:
        renders.append(1)
        return ""

    tmpl = Environment().from_string("{{ tick() }}{{ fit(s.title) }}.\n{{ fit(s.workaround) }}")
    text = render_fitted(tmpl, statement, NOON, max_length=max_length, extra={"tick": tick})
    return text, len(renders)


def test_fitting_renders_only_what_can_change_the_text(small_feed: LoadedFeed) -> None:
    """Dropping or giving back a fact the template does not say costs no render, a fact is
    dropped whole at once and comes back by halving: 8 renders where one sentence a render
    took 25 — for the same text."""
    title = "Renovación de permisos caída."
    two = f"{title}\nVaya a una oficina. Lleve el DNI."
    assert fitted_with_count(small_feed, len(f"{title}\n{WORKAROUND}")) == (
        f"{title}\n{WORKAROUND}",
        1,
    )
    text, renders = fitted_with_count(small_feed, len(two))
    assert text == two
    # Whole at levels 0 and 1; 1 sentence of the workaround (fits), 3, then 2 of its 6 at
    # level 1; 2 at level 0 (fits); at level 0 again, 4 then 3 (neither fits).
    assert renders == 8
