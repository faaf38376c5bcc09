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
