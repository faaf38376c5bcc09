"""Sending a reply the lint blocked, on purpose: who, why, and which findings they overrode.

The lint never stops a person for good — the feed may lag the truth by minutes — but
overriding it is a decision to record. `override` builds the record (pure); the
path that sends the reply stores it with the revision it was checked against, e.g.
in the audit history, and sends the reply. (Storing it is for the paths that send:
X replies and Telegram hand-off replies.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.claims.lint import Finding, LintResult

MIN_REASON = 10  # "ok" is not a reason; "the crew called: fixed at 14:05" is


@dataclass(frozen=True, slots=True)
class Override:
    text: str
    author: str
    reason: str
    at: dt.datetime
    findings: tuple[Finding, ...]  # the blocking findings the author chose to send past


def override(
    result: LintResult, text: str, *, author: str, reason: str, at: dt.datetime
) -> Override:
    """The record of sending `text` although `result` blocks it. Raises ValueError without
    an author or a reason of at least MIN_REASON characters, or when nothing blocks."""
    blocking = tuple(f for f in result.findings if f.blocks)
    if not blocking:
        raise ValueError("nothing to override: the lint does not block this reply")
    if not author.strip():
        raise ValueError("an override needs the author's name")
    if len(reason.strip()) < MIN_REASON:
        raise ValueError(f"an override needs a reason of at least {MIN_REASON} characters")
    return Override(text, author.strip(), reason.strip(), at, blocking)
