"""X's state per locale, for /consistency, `unavoz audit` and the console: the revision of
the last post, what is waiting (and why), what is failing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.feed.models import Status
from bot.store import XStore
from channels.x.adapter import XAdapter
from channels.x.posts import locale_of

PRIORITY = frozenset({Status.RESOLVED.value})


def _iso(moment: float | None) -> str | None:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat() if moment is not None else None


async def x_state(store: XStore, adapter: XAdapter | None = None) -> dict[str, Any]:
    """{"locales": {es: {...}, en: {...}}, and this instance's view of X's limits}."""
    per_locale: dict[str, dict[str, Any]] = {}
    for thread in await store.x_threads():
        locale = locale_of(thread.thread)
        if locale is None:
            continue
        entry = per_locale.setdefault(
            locale,
            {
                "last_revision": None,
                "last_posted_at": None,
                "pending": 0,
                "failing": 0,
                "reason": None,
                "waiting": [],
            },
        )
        if thread.last_revision is not None and (
            entry["last_revision"] is None or thread.last_revision > entry["last_revision"]
        ):
            entry["last_revision"] = thread.last_revision
        if thread.last_posted_at is not None:
            entry["last_posted_at"] = max(
                thread.last_posted_at, entry["last_posted_at"] or thread.last_posted_at
            )
        entry["pending"] += thread.pending
        entry["failing"] += thread.failed
        if thread.last_error and (thread.pending or thread.failed):
            entry["reason"] = thread.last_error
        incident = thread.thread.split(":", 2)[2]
        for status in thread.waiting_statuses:
            entry["waiting"].append({"incident": incident, "status": status})
    for entry in per_locale.values():
        entry["last_posted_at"] = _iso(entry["last_posted_at"])
        entry["state"] = (
            "failing"
            if entry["failing"] or entry["reason"]
            else "lagging"
            if entry["pending"]
            else "in_sync"
        )
    out: dict[str, Any] = {"locales": dict(sorted(per_locale.items()))}
    if adapter is not None:
        out["daily_posts"] = adapter.budget.as_json()
        out["refused"] = adapter.refused
        out["mentions"] = {"last_poll": _iso(adapter.last_poll), "error": adapter.poll_error}
    return out


def lines(state: dict[str, Any]) -> list[str]:
    """The same, as lines under the audit's table."""
    out = []
    for locale, entry in state["locales"].items():
        line = (
            f"x {locale}: {entry['state'].replace('_', ' ')}, last post revision"
            f" {entry['last_revision'] if entry['last_revision'] is not None else '-'},"
            f" {entry['pending']} pending, {entry['failing']} failing"
        )
        if entry["reason"]:
            line += f" — {entry['reason']}"
        out.append(line)
    return out
