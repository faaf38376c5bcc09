"""X (Twitter): public posts and replies, at most 280 characters as X counts them."""

from __future__ import annotations

from typing import ClassVar

from twitter_text import parse_tweet

from channels.base import ChannelRenderer


def x_length(text: str) -> int:
    """X's weighted length: URLs count 23, CJK and emoji 2, most Latin text 1."""
    return int(parse_tweet(text).weightedLength)


class XRenderer(ChannelRenderer):
    name: ClassVar[str] = "x"
    single_line: ClassVar[bool] = True
    max_length: ClassVar[int] = 280
    posts_per_15_minutes: ClassVar[int] = 100

    def length(self, text: str) -> int:
        return x_length(text)
