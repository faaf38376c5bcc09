"""Times in replies read as the moments they name, at noon on the example feed's day."""

from __future__ import annotations

import pytest

from bot.claims.text import fold
from bot.claims.times import find_times
from tests.claims.conftest import EXAMPLE_NOON
from tests.conftest import MADRID


def _read(text: str) -> list[tuple[str, str, str, str]]:
    return [
        (
            text[m.start : m.end],
            m.earliest.astimezone(MADRID).strftime("%d %H:%M"),
            m.latest.astimezone(MADRID).strftime("%d %H:%M"),
            m.relation,
        )
        for m in find_times(fold(text), EXAMPLE_NOON, MADRID)
    ]


@pytest.mark.parametrize(
    ("text", "words", "earliest", "latest", "relation"),
    [
        ("a las 18:00", "a las 18:00", "24 18:00", "24 18:00", "at"),
        ("a las seis de la tarde", "a las seis de la tarde", "24 18:00", "24 18:00", "at"),
        ("a las 6", "a las 6", "24 18:00", "24 18:00", "at"),  # 6:00 is gone: 18:00
        ("6pm", "6pm", "24 18:00", "24 18:00", "at"),
        ("18h", "18h", "24 18:00", "24 18:00", "at"),
        ("sobre las 6 y media", "sobre las 6 y media", "24 18:30", "24 18:30", "at"),
        ("esta tarde", "esta tarde", "24 12:00", "24 21:00", "at"),
        ("this afternoon", "this afternoon", "24 12:00", "24 18:00", "at"),
        ("mañana por la mañana", "mañana por la mañana", "25 06:00", "25 12:00", "at"),
        ("tmrw morning", "tmrw morning", "25 06:00", "25 12:00", "at"),
        ("mañ a primera hora", "mañ a primera hora", "25 06:00", "25 10:00", "at"),
        ("en dos horas", "en dos horas", "24 14:00", "24 14:00", "at"),
        ("in an hour and a half", "in an hour and a half", "24 13:30", "24 13:30", "at"),
        ("en un par de horas", "en un par de horas", "24 14:00", "24 14:00", "at"),
        ("antes del viernes", "antes del viernes", "27 00:00", "28 00:00", "by"),
        ("by tonight", "by tonight", "24 18:00", "25 06:00", "by"),
        ("el 26 de noviembre", "26 de noviembre", "26 00:00", "27 00:00", "at"),
        ("de 23:00 a 03:00", "de 23:00 a 03:00", "24 23:00", "25 03:00", "range"),
        ("from 8am to 8pm", "from 8am to 8pm", "24 08:00", "24 20:00", "range"),
        ("desde las 8:00", "desde las 8:00", "24 08:00", "24 08:00", "from"),
        ("back at 3am", "at 3am", "25 03:00", "25 03:00", "at"),
    ],
)
def test_reads_times(text: str, words: str, earliest: str, latest: str, relation: str) -> None:
    assert _read(text) == [(words, earliest, latest, relation)]


@pytest.mark.parametrize(
    "text",
    [
        "tengo 2 hijos y 3 perros",
        "50 GB gratis",
        "llama al 010",
        "28012 y 28013",
        "+34 900 100 200",
        "24/7",
        "abierto 24h",
    ],
)
def test_numbers_that_are_not_times(text: str) -> None:
    assert _read(text) == []


def test_hace_is_past() -> None:
    [mention] = find_times(fold("caído hace 2 horas"), EXAMPLE_NOON, MADRID)
    assert mention.past
