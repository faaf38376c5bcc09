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

# The exported banner reads the exported per-area, per-language files (a static server
# ignores the query string the live banner sends).
STATIC_BANNER_JS = BANNER_JS.replace(b"var STATIC = false;", b"var STATIC = true;", 1)
if STATIC_BANNER_JS == BANNER_JS:  # pragma: no cover - a guard for whoever edits banner.js
    raise RuntimeError("channels/web/static/banner.js lost its `var STATIC = false;` switch")


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
            area_banner = views.dumps(views.banner(state, now, locale, area=area.id))
            files[f"banner/{area.id}.{locale}.json"] = area_banner
            if locale == default:
                files[f"banner/{area.id}.json"] = area_banner
    files["api/v2/summary.json"] = views.dumps(views.statuspage_summary(state, now, default))
    files["api/v2/status.json"] = views.dumps(views.statuspage_status(state, now, default))
    files["api/v2/incidents/unresolved.json"] = views.dumps(
        views.statuspage_unresolved(state, now, default)
    )
    files["banner.js"] = STATIC_BANNER_JS
    written = []
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != body:
            write_atomically(path, body)
        written.append(path)
    return written
