"""A reply made searchable: folded to lower-case ASCII (ñ kept) one character for one, so a
match in the folded text is a span of the words the person wrote."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from unidecode import unidecode

MAX_LENGTH = 5000  # longer than any reply a channel takes (a Telegram message is 4,096)

_SENTENCE_END = re.compile(r"[.!?;¡¿\n]+(?:\s|$)|[!?¡¿\n]")


@cache
def _fold_char(char: str) -> str:
    if char.isascii():
        return char.lower()
    if char in "ñÑ":
        return "ñ"
    if unicodedata.category(char).startswith("C"):
        return " "
    folded = unidecode(char).lower()
    # Keep one character for one so spans map back; an emoji or a CJK word becomes a space.
    return folded if len(folded) == 1 else " "


def fold(text: str) -> str:
    return "".join(_fold_char(char) for char in text)


def word_set(words: str) -> frozenset[str]:
    """A set of words written as one string (word lists read best as prose)."""
    return frozenset(words.split())


def clean(text: str) -> tuple[str, bool]:
    """`text` with control characters (but tabs and new lines) as spaces; whether it had any."""
    cleaned = "".join(
        " " if unicodedata.category(c) == "Cc" and c not in "\t\n" else c for c in text
    )
    return cleaned, cleaned != text


@dataclass(frozen=True, slots=True)
class Reply:
    """The original text and its folded twin, with the sentences of the folded one."""

    original: str
    folded: str
    sentences: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, text: str) -> Reply:
        folded = fold(text)
        bounds: list[tuple[int, int]] = []
        start = 0
        for match in _SENTENCE_END.finditer(folded):
            if match.start() > start:
                bounds.append((start, match.start()))
            start = match.end()
        if start < len(folded):
            bounds.append((start, len(folded)))
        return cls(text, folded, tuple(bounds))

    def sentence_of(self, position: int) -> tuple[int, int]:
        for start, end in self.sentences:
            if start <= position < end:
                return start, end
        return position, position

    def words(self, start: int, end: int) -> str:
        """The words as the person wrote them, trimmed."""
        return self.original[start:end].strip()
