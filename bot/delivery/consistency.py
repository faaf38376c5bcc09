"""Is every channel telling the current truth? In sync, lagging (how far, since when), failing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.store import ChannelFigures, Store

IN_SYNC, LAGGING, FAILING = "in_sync", "lagging", "failing"


@dataclass(frozen=True, slots=True)
class ChannelConsistency:
    channel: str
    state: str
    targets: int
    pending: int
    behind_revisions: int
    lagging_since: float | None
    failed: int
    retrying: int
    last_error: str | None
    last_delivered_at: float | None

    def lag_seconds(self, now: float) -> float:
        return max(0.0, now - self.lagging_since) if self.lagging_since is not None else 0.0

    def as_json(self, now: float) -> dict[str, Any]:
        out = asdict(self)
        out["lagging_since"] = _iso(self.lagging_since)
        out["last_delivered_at"] = _iso(self.last_delivered_at)
        out["lag_seconds"] = round(self.lag_seconds(now), 3)
        return out


def judge(figures: ChannelFigures, latest_revision: int) -> ChannelConsistency:
    if figures.failed or figures.retrying:
        state = FAILING
    elif figures.pending:
        state = LAGGING
    else:
        state = IN_SYNC
    behind = (
        latest_revision - figures.oldest_pending_revision + 1
        if figures.oldest_pending_revision is not None
        else 0
    )
    return ChannelConsistency(
        channel=figures.channel,
        state=state,
        targets=figures.targets,
        pending=figures.pending,
        behind_revisions=behind,
        lagging_since=figures.oldest_pending_at,
        failed=figures.failed,
        retrying=figures.retrying,
        last_error=figures.last_error if state == FAILING else None,
        last_delivered_at=figures.last_delivered_at,
    )


async def check(store: Store, channels: Iterable[str] = ()) -> tuple[int, list[ChannelConsistency]]:
    """The latest revision and each channel's state; `channels` lists enabled ones with no
    deliveries yet (they are in sync: nothing to tell)."""
    latest = await store.latest_revision()
    number = latest.number if latest else 0
    judged = {f.channel: judge(f, number) for f in await store.channel_figures()}
    for channel in channels:
        judged.setdefault(
            channel,
            ChannelConsistency(channel, IN_SYNC, 0, 0, 0, None, 0, 0, None, None),
        )
    return number, [judged[name] for name in sorted(judged)]


def report(
    revision: int, channels: Sequence[ChannelConsistency], now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {
        "revision": revision,
        "in_sync": all(c.state == IN_SYNC for c in channels),
        "channels": {c.channel: c.as_json(now) for c in channels},
    }


def table(revision: int, channels: Sequence[ChannelConsistency], now: float | None = None) -> str:
    now = time.time() if now is None else now
    rows = [("channel", "state", "targets", "pending", "behind", "lag", "last error")]
    for c in channels:
        rows.append(
            (
                c.channel,
                c.state.replace("_", " "),
                str(c.targets),
                str(c.pending),
                f"{c.behind_revisions} rev" if c.behind_revisions else "-",
                _duration(c.lag_seconds(now)) if c.lagging_since else "-",
                (c.last_error or "-")[:60],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"revision {revision}"]
    lines += [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def healthy(
    channels: Sequence[ChannelConsistency], max_lag: float, now: float | None = None
) -> bool:
    """False when a channel fails, or lags longer than `max_lag` seconds."""
    now = time.time() if now is None else now
    return not any(
        c.state == FAILING or (c.state == LAGGING and c.lag_seconds(now) > max_lag)
        for c in channels
    )


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
