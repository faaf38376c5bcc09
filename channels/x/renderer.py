"""X (Twitter): public posts and replies, at most 280 characters as X counts them."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import repeat
from typing import ClassVar

from twitter_text import parse_tweet
from twitter_text.extract_urls import extract_urls_with_indices

from bot.render.renderer import ChannelRenderer

URL_LENGTH = 23  # every URL counts as a t.co link
# Below U+1100 every character weighs 1 — except © and ®, which X counts as emoji (2).
_HEAVY = re.compile("[^\u0000-\u10ff]|[\u00a9\u00ae]")
# Every URL has a "." followed by its top-level domain's first character.
_DOT_THEN_MORE = re.compile(r"\.[^.]")


def x_length(text: str) -> int:
    """X's weighted length: URLs count 23, CJK and emoji 2, most Latin text 1.

    twitter-text's full parse takes 0.1–1.5 ms a text (it scans every emoji pattern), and
    fitting counts the same words again and again. So the count is summed word by word,
    between spaces, each word's weight remembered: no URL nor emoji holds a space, and
    twitter-text's patterns read no further back than the character before a URL — a
    space, or for the first word the start of the text.
    """
    normalized = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    first, *rest = normalized.split(" ")
    return _word_length(first, False) + sum(map(_word_length, rest, repeat(True))) + len(rest)


@lru_cache(maxsize=16384)
def _word_length(word: str, after_space: bool) -> int:
    """A word's weighted length where it stands: after a space, or first in the text (a
    first character may be read as what precedes a URL only there: "ßb.org" alone counts
    "ß", then "b.org" as the URL)."""
    in_place = f" {word}" if after_space else word
    if _HEAVY.search(word) is not None:
        return int(parse_tweet(in_place).weightedLength) - after_space
    if _DOT_THEN_MORE.search(word) is None:
        return len(word)
    # Weight-1 characters: only its URLs to find (twitter-text's emoji scan is the slow part).
    urls = extract_urls_with_indices(in_place)
    return len(word) - sum(len(url["url"]) for url in urls) + URL_LENGTH * len(urls)


class XRenderer(ChannelRenderer):
    name: ClassVar[str] = "x"
    templates_package: ClassVar[str] = "channels.x"
    single_line: ClassVar[bool] = True
    max_length: ClassVar[int] = 280

    def length(self, text: str) -> int:
        return x_length(text)
