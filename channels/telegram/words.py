"""The staff bot's fixed words: the `staff_bot` section of `bot/words/<locale>.yaml`."""

from __future__ import annotations

from bot.words import words


def word(locale: str, key: str, **values: object) -> str:
    return words(locale)(f"staff_bot.{key}", **values)
