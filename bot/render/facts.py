"""Which of a statement's facts a channel's text tells, whole? Used by `preview` and the tests.

A fact counts only when the text carries it whole — the status word, the ETA (or "no
estimate yet") as every channel phrases it, the next update's time, every sentence of
the workaround — found in the text itself, never assumed from the template.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from bot.render.engine import phrase_facts, sentences
from bot.statement import Statement

FACTS = ("status", "eta", "next_update", "workaround")
_SPACES = re.compile(r"\s+")


def _folded(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def told_facts(
    statement: Statement,
    text: str,
    now: dt.datetime,
    clean: Callable[[str], str] = lambda text: text,
) -> dict[str, str]:
    """Each fact the statement has, and how `text` tells it: "whole", "part" or "missing"."""
    statement = statement.as_of(now)
    phrases = phrase_facts(statement, now)
    haystack = _folded(text)
    told: dict[str, str] = {}

    def said(phrase: str) -> str:
        return "whole" if _folded(phrase) in haystack else "missing"

    told["status"] = said(phrases.status)
    if statement.is_open:
        told["eta"] = said(phrases.eta or phrases.no_eta)
        if phrases.next_update:
            told["next_update"] = said(phrases.next_update)
        if statement.workaround:
            parts = [said(sentence) for sentence in sentences(clean(statement.workaround))]
            told["workaround"] = (
                "whole"
                if all(p == "whole" for p in parts)
                else "part"
                if parts[0] == "whole"
                else "missing"
            )
    return told


def missing_facts(
    statement: Statement,
    text: str,
    now: dt.datetime,
    clean: Callable[[str], str] = lambda text: text,
) -> list[str]:
    """Names of the facts `text` does not tell whole ("workaround (part)" when only its
    first sentences are there)."""
    told = told_facts(statement, text, now, clean)
    return [
        name if how == "missing" else f"{name} (part)"
        for name, how in told.items()
        if how != "whole"
    ]
