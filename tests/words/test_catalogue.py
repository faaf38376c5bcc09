"""The fixed words: every built-in locale has every word, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.feed.loader import parse_feed
from bot.feed.yamlsource import FeedError
from bot.words import UnknownLocale, catalogue, locales, words


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_spanish_and_english_are_built_in() -> None:
    assert {"es", "en"} <= locales()


@pytest.mark.parametrize("locale", sorted(locales()))
def test_every_locale_has_every_word_with_the_same_placeholders(locale: str) -> None:
    reference = catalogue()["es"]
    table = catalogue()[locale]
    assert set(table) == set(reference), "keys differ from es.yaml"
    for key, text in table.items():
        assert text.strip(), f"{locale}: {key} is empty"
        assert placeholders(text) == placeholders(reference[key]), f"{locale}: {key}"


def test_a_word_is_formatted_with_its_values() -> None:
    assert words("en")("web.affects", postcode="28012") == "Incidents affecting 28012"
    assert words("es").section("when")["today"] == "hoy"


def test_there_is_no_silent_fallback_to_another_language() -> None:
    with pytest.raises(UnknownLocale):
        words("fr")


def test_a_feed_declaring_a_locale_without_words_is_invalid(small_text: str) -> None:
    text = small_text.replace("locales: [es, en]", "locales: [es, en, fr]", 1)
    assert text != small_text
    with pytest.raises(FeedError) as caught:
        parse_feed(text, "feed.yaml")
    messages = [p.message for p in caught.value.problems]
    assert any("no built-in words in 'fr'" in m and "bot/words/fr.yaml" in m for m in messages)
