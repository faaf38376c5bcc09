"""Claims lint: reads what a person wrote to a customer and finds what the feed contradicts.

Call `lint_reply(text, feed, now, incident=…, area=…, postcode=…)`; it returns a
`LintResult` whose `ok` is False exactly when a finding blocks. Pure (no I/O), so
every path by which a person's words reach a customer — the console, X replies,
Telegram hand-off replies — calls this one function before sending; see
`overrides.py` for sending anyway, with a reason.
"""

from bot.claims.lint import (
    KINDS,
    FeedFacts,
    Finding,
    FindingKind,
    LintInputError,
    LintResult,
    facts_of,
    lint_reply,
)
from bot.claims.overrides import Override, ReplyBlocked, gate_reply, override

__all__ = [
    "KINDS",
    "FeedFacts",
    "Finding",
    "FindingKind",
    "LintInputError",
    "LintResult",
    "Override",
    "ReplyBlocked",
    "facts_of",
    "gate_reply",
    "lint_reply",
    "override",
]
