"""The fixed words Unavoz says itself, one YAML file per built-in locale (`<locale>.yaml`).

Templates word the statements; these are the few words around them (status names,
"today at", the phone menu, the status page's headings). Every file holds the same
keys with the same placeholders (a test checks it), and a feed that declares a locale
with no file here is invalid: there is no silent fallback to another language.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from bot.feed.models import Status


class UnknownLocale(LookupError):
    """Unavoz has no words in this locale."""


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    """Every built-in locale's words, keyed "section.word" (e.g. "phone.menu")."""
    found: dict[str, Mapping[str, str]] = {}
    for entry in files(__name__).iterdir():
        if entry.name.endswith(".yaml"):
            found[entry.name.removesuffix(".yaml")] = _flatten(
                yaml.safe_load(entry.read_text("utf-8"))
            )
    return found


def locales() -> frozenset[str]:
    return frozenset(catalogue())


class Words:
    """One locale's words: `words("phone.menu")`, `words("web.affects", postcode="28012")`."""

    def __init__(self, locale: str) -> None:
        table = catalogue().get(locale)
        if table is None:
            raise UnknownLocale(f"Unavoz has no built-in words in {locale!r}")
        self.locale = locale
        self.table = table

    def __call__(self, key: str, **values: object) -> str:
        text = self.table[key]
        return text.format(**values) if values else text

    def section(self, name: str) -> dict[str, str]:
        """A section's words without its prefix ("web" → {"title": …}), for templates."""
        prefix = f"{name}."
        return {k.removeprefix(prefix): v for k, v in self.table.items() if k.startswith(prefix)}


@cache
def words(locale: str) -> Words:
    return Words(locale)


def status_label(status: Status, locale: str) -> str:
    return words(locale)(f"status.{status.value}")
