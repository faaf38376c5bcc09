"""Does a channel's text carry the statement's facts? Used by `preview` and by the tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.render.engine import phrase_facts
from bot.statement import Statement

# How much of a person's free text must survive on the shortest channel to count as "said".
_PREFIX = 12


def missing_facts(
    statement: Statement,
    text: str,
    now: dt.datetime,
    clean: Callable[[str], str] = lambda text: text,
) -> list[str]:
    """Names of the facts (status, eta, next_update, workaround) that `text` does not say."""
    phrases = phrase_facts(statement, now)
    haystack = text.casefold()
    missing = []
    if phrases.status.casefold() not in haystack:
        missing.append("status")
    if statement.is_open:
        eta = phrases.eta or phrases.no_eta
        if eta.casefold() not in haystack:
            missing.append("eta")
        if statement.workaround:
            start = " ".join(clean(statement.workaround).split())[:_PREFIX]
            if start.casefold() not in haystack:
                missing.append("workaround")
    return missing
