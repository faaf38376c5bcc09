"""`unavoz preview`: each open incident as every channel tells it, side by side, facts checked."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Mapping, Sequence
from functools import partial
from itertools import zip_longest

from bot.feed.lookup import Lookup
from bot.feed.models import Feed
from bot.render.engine import phrase_facts
from bot.render.facts import missing_facts
from bot.render.renderer import ChannelRenderer
from bot.statement import build_statement

GAP = " │ "
MIN_COLUMN = 26


def preview_feed(
    feed: Feed,
    *,
    now: dt.datetime,
    channels: Sequence[str],
    renderers: Mapping[str, ChannelRenderer],
    locale: str | None = None,
    area: str | None = None,
    width: int = 160,
) -> str:
    lookup = Lookup(feed)
    incidents = lookup.for_area(area, now) if area else lookup.current(now)
    in_area = {i.id for i in lookup.open_in_area(area)} if area else None
    incidents += [i for i in lookup.upcoming_maintenance(now) if in_area is None or i.id in in_area]
    if not incidents:
        where = f" in area {area!r}" if area else ""
        return f"No open incidents{where} at {now.isoformat(timespec='minutes')}."
    locales = [locale] if locale else list(feed.organization.locales)
    sections = []
    for incident in incidents:
        for loc in locales:
            statement = build_statement(feed, incident, loc, revision=0)
            phrases = phrase_facts(statement, now)
            header = (
                f"══ {incident.id} [{loc}] · {phrases.status} · ETA {phrases.eta or phrases.no_eta}"
            )
            texts = {}
            missing: dict[str, list[str]] = {}
            for name in channels:
                renderer = renderers[name]
                overrides = feed.channels.get(name).templates
                texts[name] = renderer.render(statement, now, overrides)
                # The facts found in the text itself: a fact left out or told in part shows.
                missing[name] = missing_facts(
                    statement, texts[name], now, partial(renderer.clean, locale=loc)
                )
            blocks = {}
            for name, text in texts.items():
                check = (
                    "✓ same facts" if not missing[name] else "✗ missing " + ", ".join(missing[name])
                )
                renderer = renderers[name]
                blocks[f"{name} {renderer.length(text)}/{renderer.max_length} {check}"] = text
            differ = {name: gaps for name, gaps in missing.items() if gaps}
            verdict = (
                "every channel tells the same facts, whole"
                if not differ
                else "channels differ: "
                + "; ".join(f"{name} lacks {', '.join(gaps)}" for name, gaps in differ.items())
            )
            sections.append(f"{header}\n{verdict}\n" + side_by_side(blocks, width))
    return "\n\n".join(sections)


def side_by_side(blocks: dict[str, str], width: int) -> str:
    """Columns when the terminal is wide enough for them, one block under another otherwise."""
    count = len(blocks)
    column = (width - len(GAP) * (count - 1)) // max(count, 1)
    if count == 1 or column < MIN_COLUMN:
        return "\n\n".join(f"── {title}\n{text}" for title, text in blocks.items())
    columns = [
        [*textwrap.wrap(title, column), "─" * column, *_wrap(text, column)]
        for title, text in blocks.items()
    ]
    rows = zip_longest(*columns, fillvalue="")
    return "\n".join(GAP.join(cell.ljust(column) for cell in row).rstrip() for row in rows)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines():
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    return lines
