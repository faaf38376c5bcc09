"""Every channel of the registry, with what it is telling now and what is off and why.

`/consistency` knows only the channels that deliver (their ledger); a reader of a table
with one webhook row takes it for "everything is consistent". This overview lists every
channel the registry knows — the web and the phone answer on request, others deliver —
so the console and `unavoz audit` say what each one tells and why one is off or behind.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.delivery.consistency import FAILING, LAGGING, ChannelConsistency
from bot.feed.models import Feed
from bot.registry import Registry
from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class ChannelRow:
    channel: str
    title: str
    running: str  # the channel's own start-up line: "on", "off (X_BEARER_TOKEN not set)"
    telling: str  # what it tells now
    verdict: str  # "consistent" or what is off, and why
    ok: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def overview(
    registry: Registry,
    settings: Settings,
    feed: Feed,
    revision: int,
    open_incidents: int,
    delivering: Sequence[ChannelConsistency],
    now: float | None = None,
) -> list[ChannelRow]:
    now = time.time() if now is None else now
    ledger = {c.channel: c for c in delivering}
    told = (
        f"revision {revision}: {open_incidents} open incident{'s' if open_incidents != 1 else ''}"
    )
    rows = []
    for channel in registry.channels:
        running = channel.state(settings)
        try:
            enabled = feed.channels.get(channel.name).enabled
        except KeyError:
            enabled = True
        figures = ledger.pop(channel.name, None)
        if not enabled:
            rows.append(
                ChannelRow(
                    channel.name,
                    channel.title,
                    running,
                    "nothing",
                    f"off in the feed (channels.{channel.name}.enabled: false)",
                    True,
                )
            )
        elif running.startswith("off"):
            rows.append(ChannelRow(channel.name, channel.title, running, "nothing", running, True))
        elif figures is not None:
            rows.append(_delivering(channel.name, channel.title, running, figures, now))
        elif channel.adapter(settings) is not None:
            rows.append(
                ChannelRow(
                    channel.name,
                    channel.title,
                    running,
                    f"{told}; no target has needed a message yet",
                    "consistent",
                    True,
                )
            )
        else:
            rows.append(
                ChannelRow(
                    channel.name,
                    channel.title,
                    running,
                    f"{told}, rendered on request",
                    "consistent",
                    True,
                )
            )
    for name, figures in sorted(ledger.items()):  # delivered once, no longer registered
        rows.append(_delivering(name, name, "not registered", figures, now))
    return rows


def _delivering(
    name: str, title: str, running: str, figures: ChannelConsistency, now: float
) -> ChannelRow:
    telling = f"{figures.targets} target{'s' if figures.targets != 1 else ''}"
    if figures.state == FAILING:
        verdict = (
            f"failing: {figures.failed} failed, {figures.retrying} retrying"
            f" — {figures.last_error or 'no error recorded'}"
        )
        return ChannelRow(name, title, running, telling, verdict, False)
    if figures.state == LAGGING:
        lag = figures.lag_seconds(now)
        verdict = (
            f"lagging: {figures.pending} pending, {figures.behind_revisions} revision(s) "
            f"behind for {lag:.0f} s"
        )
        return ChannelRow(name, title, running, telling, verdict, False)
    return ChannelRow(name, title, running, telling + ", each told the latest", "consistent", True)


def table(rows: Sequence[ChannelRow]) -> str:
    header = ("channel", "running", "telling now", "verdict")
    cells = [header] + [(r.channel, r.running, r.telling, r.verdict) for r in rows]
    widths = [min(max(len(row[i]) for row in cells), 60) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell[:60].ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in cells
    )
