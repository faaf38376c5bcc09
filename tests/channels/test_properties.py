"""Property: any valid feed renders on every channel within its limit, telling the same facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.feed.models import TEXT_LIMITS, Feed
from bot.registry import default_registry
from bot.render.facts import told_facts
from bot.statement import build_statements

RENDERERS = default_registry().renderers

# Text people type: Latin with accents, CJK and emoji (X counts them double), markup characters.
ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S", "Zs"),
    exclude_characters="\u2028\u2029",
)


def text(limit: int) -> st.SearchStrategy[str]:
    # Sentences too, so that fitting has whole sentences to keep or drop.
    words = st.text(ALPHABET, min_size=1, max_size=limit).filter(lambda t: t.strip() != "")
    prose = st.lists(words, min_size=1, max_size=4).map(lambda parts: ". ".join(parts) + ".")
    return (words | prose).map(lambda t: t.strip()[:limit].strip()).filter(bool)


TEXT = text(TEXT_LIMITS["workaround"])
TITLE = text(TEXT_LIMITS["title"])
SHORT = text(TEXT_LIMITS["name"])
BASE = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
OFFSETS = st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60).map(
    lambda minutes: dt.timedelta(minutes=minutes)
)


def localized(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({"es": strategy, "en": strategy})


@st.composite
def feeds(draw: st.DrawFn) -> tuple[Feed, dt.datetime]:
    area_names = draw(st.lists(localized(SHORT), min_size=1, max_size=25))
    areas = [
        {"id": f"area-{n}", "name": name, "postcodes": [f"{28000 + n:05d}"]}
        for n, name in enumerate(area_names)
    ]
    started = BASE + draw(OFFSETS)
    status = draw(st.sampled_from(["investigating", "identified", "monitoring", "resolved"]))
    incident: dict[str, Any] = {
        "id": "incident-1",
        "title": draw(localized(TITLE)),
        "summary": draw(localized(TEXT)),
        "status": status,
        "severity": draw(st.sampled_from(["minor", "major", "critical"])),
        "services": ["svc"],
        "areas": [a["id"] for a in areas[: draw(st.integers(1, len(areas)))]],
        "started_at": started.isoformat(),
        "next_update_by": (started + abs(draw(OFFSETS))).isoformat(),
        "workaround": draw(st.none() | localized(TEXT)),
        "apology": draw(st.none() | localized(text(TEXT_LIMITS["apology"]))),
        "staff_instructions": draw(st.none() | localized(TEXT)),
    }
    if draw(st.booleans()):
        incident["eta"] = (started + abs(draw(OFFSETS))).isoformat()
    if status == "resolved":
        incident["resolved_at"] = (started + abs(draw(OFFSETS))).isoformat()
        incident["resolution"] = draw(localized(TEXT))
    feed = Feed.model_validate(
        {
            "organization": {
                "name": draw(localized(SHORT)),
                "timezone": draw(st.sampled_from(["Europe/Madrid", "America/Bogota", "UTC"])),
                "locales": ["es", "en"],
                "default_locale": "es",
                "status_page_url": "https://status.example.org/",
                "human_contact": {
                    "phone": "+34 910 000 010",
                    "hours": draw(localized(text(TEXT_LIMITS["hours"]))),
                },
                "apology": draw(localized(text(TEXT_LIMITS["apology"]))),
            },
            "services": [{"id": "svc", "name": draw(localized(SHORT))}],
            "areas": areas,
            "incidents": [incident],
        }
    )
    return feed, started + draw(OFFSETS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds())
def test_every_channel_fits_and_tells_the_same_facts(case: tuple[Feed, dt.datetime]) -> None:
    """Within its limit, every channel tells the status and the ETA whole; the rest is told
    whole or dropped whole (a workaround keeps its leading whole sentences), never cut."""
    feed, now = case
    for statement in build_statements(feed, revision=1).values():
        for renderer in RENDERERS.values():
            text = renderer.render(statement, now)
            assert renderer.length(text) <= renderer.max_length, renderer.name
            told = told_facts(
                statement, text, now, lambda t, r=renderer, s=statement: r.clean(t, s.locale)
            )
            assert told["status"] == "whole", (renderer.name, text)
            assert told.get("eta", "whole") == "whole", (renderer.name, text)
            clean = renderer.clean(statement.title, statement.locale)
            assert " ".join(clean.split()) in text, (renderer.name, text)  # never cut
