"""X's weighted length, counted word by word, is twitter-text's own count of the whole text."""

from __future__ import annotations

import random

import pytest
from twitter_text import parse_tweet

from channels.x.renderer import x_length

# What people type: addresses with and without a scheme, in brackets, with paths, queries and
# trailing punctuation; t.co links; mentions, hashtags, cashtags; accents composed and not;
# CJK; emoji with modifiers, joiners, flags and keycaps; © and ®; odd spaces and line ends.
PIECES = [
    "https://estado.example.org/status#incident-0",
    "https://estado.example.org/status#incident.v9_x",
    "http://a.co",
    "www.sede.example/permisos",
    "sede.example.org",
    "(https://x.org/a_(b))",
    "https://example.com/?q=1&r=(2)",
    "example.com/path.",
    "example.com.",
    "https://t.co/abcdef",
    "t.co/abc",
    "https://пример.рф/путь",
    "привет.рф",
    "español.es",
    "日本語.jp",
    "xn--80ak6aa92e.com",
    "http://localhost:8080/x",
    "mailto:a@b.org",
    "a@b.org",
    "x.y.z.museum",
    "a.b",
    ".com",
    "..",
    "…www.x.es",
    "2.50",
    "15:00.",
    "808).",
    "@user",
    "#tag",
    "$cash",
    "café",
    "cafe\u0301",
    "Año",
    "naïve",
    "ß",
    "Ωμέγα",
    "Привет",
    "abc\u0958",
    "東京都",
    "停電",
    "。",
    "🚧",
    "⚠️",
    "👩\u200d👩\u200d👧",
    "🇪🇸",
    "#️⃣",
    "👍🏽",
    "\u200d",
    "\ufe0f",
    "©",
    "®",
    "™",
    "…",
    "\u3000",
    "\u00a0",
    "\t",
    "\n",
    "\r\n",
    "\r",
    " ",
    "  ",
    ".",
    ",",
    "(",
    ")",
    ":",
    "-",
    "/",
    "?",
    "!",
    "word",
]


def corpus(count: int, seed: int = 23) -> list[str]:
    """Texts of up to 40 pieces, each followed by a space or not (so pieces run together)."""
    rng = random.Random(seed)
    return [
        "".join(
            rng.choice(PIECES) + (" " if rng.random() < 0.6 else "")
            for _ in range(rng.randint(0, 40))
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "ßb.org",  # first in the text, "ß" is what precedes the URL "b.org"
        " ßb.org",  # after a space, "ßb.org" is the URL
        "a ßb.org ßb.org",
        "Solución prevista: hoy a las 15:00. https://estado.example.org/status#incident-0",
        "Vea www.sede.example/permisos. Lleve el DNI.",
        "(https://x.org/a_(b)). https://t.co/abcdef?x=1 🚧 停電",
        "@user#tag$cash http://a.co@user",
        "  two  spaces  and trailing  ",
        "line\r\nends\rand\nmore example.com\r\nexample.org",
    ],
)
def test_x_length_is_twitter_texts_count(text: str) -> None:
    assert x_length(text) == parse_tweet(text).weightedLength


def test_x_length_is_twitter_texts_count_for_what_people_type() -> None:
    wrong = [
        (text, x_length(text), parse_tweet(text).weightedLength)
        for text in corpus(400)
        if x_length(text) != parse_tweet(text).weightedLength
    ]
    assert wrong == []
