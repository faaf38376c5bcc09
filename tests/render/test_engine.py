"""The fitting machinery: shortening, speakable text, lists of names."""

from __future__ import annotations

import pytest

from bot.render.engine import join_names, shorten, speakable


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
