"""`unavoz export-static DIR`: the public web as files, for any web server or CDN.

Every file is written atomically (temporary file, then rename), so a server
reading the directory while it is rewritten serves the old file or the new one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.service import write_atomically
from bot.state import FeedState
from channels.web import views
from channels.web.page import render_status_page
from channels.web.routes import BANNER_JS


def export_static(state: FeedState, directory: str | Path, now: dt.datetime) -> list[Path]:
    """Write every public file of `state` into `directory`; return the paths written."""
    root = Path(directory)
    feed = state.feed
    default = feed.organization.default_locale
    files: dict[str, bytes] = {}
    for locale in feed.organization.locales:
        suffixes = [f".{locale}"] + ([""] if locale == default else [])
        banner = views.dumps(views.banner(state, now, locale))
        page = render_status_page(state, now, locale).encode("utf-8")
        atom = views.atom(state, locale, f"{feed.organization.status_page_url}/feed.atom", now)
        for suffix in suffixes:
            files[f"banner{suffix}.json"] = banner
            files[f"status{suffix}.html"] = page
            files[f"feed{suffix}.atom"] = atom
        for area in feed.areas:
            files[f"banner/{area.id}.{locale}.json"] = views.dumps(
                views.banner(state, now, locale, area=area.id)
            )
    files["api/v2/summary.json"] = views.dumps(views.statuspage_summary(state, now, default))
    files["api/v2/status.json"] = views.dumps(views.statuspage_status(state, now, default))
    files["api/v2/incidents/unresolved.json"] = views.dumps(
        views.statuspage_unresolved(state, now, default)
    )
    files["banner.js"] = BANNER_JS
    written = []
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != body:
            write_atomically(path, body)
        written.append(path)
    return written
