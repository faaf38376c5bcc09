"""Sending a reply the lint blocked, on purpose: who, why, and which findings they overrode.

The lint never stops a person for good — the feed may lag the truth by minutes — but
overriding it is a decision to record. `override` builds the record (pure); the
path that sends the reply stores it with the revision it was checked against, e.g.
in the audit history, and sends the reply. (Storing it is for the paths that send:
X replies and Telegram hand-off replies.)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from bot.claims.lint import Finding, LintInputError, LintResult, lint_reply
from bot.feed.models import Feed

MIN_REASON = 10  # "ok" is not a reason; "the crew called: fixed at 14:05" is


@dataclass(frozen=True, slots=True)
class Override:
    text: str
    author: str
    reason: str
    at: dt.datetime
    findings: tuple[Finding, ...]  # the blocking findings the author chose to send past

    def findings_json(self) -> str:
        return json.dumps([f.as_json() for f in self.findings], ensure_ascii=False)


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


class ReplyBlocked(ValueError):
    """A person's reply that may not go as written: `lint` holds the findings (None when the
    text itself is bad input: empty, too long…)."""

    def __init__(self, message: str, lint: LintResult | None = None) -> None:
        super().__init__(message)
        self.lint = lint


def gate_reply(
    text: str,
    feed: Feed,
    now: dt.datetime,
    *,
    author: str,
    override_reason: str | None = None,
    incident: str | None = None,
    area: str | None = None,
    postcode: str | None = None,
) -> tuple[LintResult, Override | None]:
    """The one check every path by which a person's words reach a customer goes through (X
    replies, Telegram hand-offs): a reply the lint blocks goes only with an override and a
    reason, whose record is returned for the path to store. Raises ReplyBlocked."""
    try:
        result = lint_reply(text, feed, now, incident=incident, area=area, postcode=postcode)
    except LintInputError as exc:
        raise ReplyBlocked(str(exc)) from exc
    if result.ok:
        return result, None
    if not override_reason:
        raise ReplyBlocked(
            "the reply contradicts the feed: correct it, or send it with an override and a reason",
            result,
        )
    try:
        return result, override(result, text, author=author, reason=override_reason, at=now)
    except ValueError as exc:
        raise ReplyBlocked(str(exc), result) from exc
