"""`unavoz lint TEXT`: the claims lint in a terminal — each finding under its words.

Exit 0 when nothing blocks, 1 when a finding blocks, 2 on bad input (empty or
over-long text, unknown incident or area, a time that cannot be read, a feed that
cannot be loaded).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from typing import Any

from bot.claims import Finding, LintInputError, LintResult, lint_reply
from bot.claims.text import MAX_LENGTH, clean
from bot.feed.changes import TimeInputError
from bot.feed.loader import load_feed
from bot.feed.yamlsource import FeedError


def add_command(commands: Any) -> None:
    """Add `lint` to the `unavoz` subcommands (argparse's private subparsers action)."""
    lint = commands.add_parser(
        "lint", help="check a reply to a customer against the feed (exit 1 if it blocks)"
    )
    lint.add_argument("text", help="the reply (Spanish or English); - reads it from stdin")
    lint.add_argument("--incident", help="the incident the reply answers")
    place = lint.add_mutually_exclusive_group()
    place.add_argument("--area", help="area id the customer asked about")
    place.add_argument("--postcode", help="postcode the customer asked about")
    lint.add_argument("--locale", choices=["es", "en"], help="language of the findings")
    lint.add_argument("--at", help="check as of this time (ISO 8601, 14:30, +2h)")
    lint.add_argument("--feed", help="feed file (default $UNAVOZ_FEED)")
    lint.add_argument("--json", action="store_true", help="print the POST /api/v1/lint JSON")
    lint.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bot.cli import _feed_path, _now  # the CLI's one feed path and one clock

    text = sys.stdin.read(MAX_LENGTH + 1) if args.text == "-" else args.text
    try:
        feed = load_feed(_feed_path(args.feed)).feed
    except (FeedError, OSError) as error:
        print(f"unavoz lint: cannot load the feed: {error}", file=sys.stderr)
        return 2
    try:
        now = _now(feed.organization.tz, args.at)
        result = lint_reply(
            text,
            feed,
            now,
            incident=args.incident,
            area=args.area,
            postcode=args.postcode,
            locale=args.locale,
        )
    except (LintInputError, TimeInputError) as error:
        print(f"unavoz lint: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        print(report(clean(text)[0], result))
    return 0 if result.ok else 1


def report(text: str, result: LintResult) -> str:
    """Each finding under the line it is in, its words underlined with ^."""
    out: list[str] = []
    for finding in result.findings:
        out.extend(_underlined(text, finding))
    verdict = (
        "ok: nothing the feed contradicts"
        if not result.findings
        else "ok: only warnings"
        if result.ok
        else f"blocked: {sum(f.blocks for f in result.findings)} finding(s) block this reply"
    )
    checked = ", ".join(result.incidents) or "no incident"
    out.append(f"{verdict} (checked against {checked})")
    out.extend(f"note: {note}" for note in result.notes)
    return "\n".join(out)


def _underlined(text: str, finding: Finding) -> list[str]:
    line_start = text.rfind("\n", 0, finding.start) + 1
    line_end = text.find("\n", finding.end)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    before = _width(text[line_start : finding.start])
    marks = max(1, _width(text[finding.start : min(finding.end, line_start + len(line))]))
    level = "blocks" if finding.blocks else "warns"
    lines = [
        f"  {line}",
        f"  {' ' * before}{'^' * marks} {finding.kind} ({level})",
        f"    the feed says: {finding.feed_says}",
    ]
    if finding.suggestion:
        lines.append(f"    suggestion: {finding.suggestion}")
    return lines


def _width(text: str) -> int:
    """Columns a terminal gives the text: wide characters (emoji, CJK) take two."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )
