"""X (Twitter): public posts and replies, at most 280 characters as X counts them."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from twitter_text import parse_tweet
from twitter_text.extract_urls import extract_urls_with_indices

from bot.render.renderer import ChannelRenderer

URL_LENGTH = 23  # every URL counts as a t.co link
# Below U+1100 every character weighs 1 — except © and ®, which X counts as emoji (2).
_LIGHT_LIMIT = 0x10FF
_LIGHT_EMOJI = frozenset("\u00a9\u00ae")


def x_length(text: str) -> int:
    """X's weighted length: URLs count 23, CJK and emoji 2, most Latin text 1.

    twitter-text's full parse scans every emoji pattern (~1.5 ms a text); text made
    only of weight-1 characters needs just its URLs found, which gives the same count.
    """
    normalized = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    if max(map(ord, normalized), default=0) > _LIGHT_LIMIT or not _LIGHT_EMOJI.isdisjoint(
        normalized
    ):
        return int(parse_tweet(text).weightedLength)
    urls = extract_urls_with_indices(normalized)
    return len(normalized) - sum(len(u["url"]) for u in urls) + URL_LENGTH * len(urls)


class XRenderer(ChannelRenderer):
    name: ClassVar[str] = "x"
    templates_package: ClassVar[str] = "channels.x"
    single_line: ClassVar[bool] = True
    max_length: ClassVar[int] = 280

    def length(self, text: str) -> int:
        return x_length(text)
