"""Pinned texts: every channel's words for a varied generated feed stay byte for byte what
they were (a change to the fitting or to X's count that means to say the same must).

The feed (seeded) has texts of one to six sentences, addresses people typed, accents,
emoji and CJK, 1 to 14 areas, maintenances, overdue updates and passed ETAs, resolved
incidents; and templates from the feed, one fitting only by the last resort. The texts
are pinned by a digest per moment, incident and locale (`tests/data/pinned_texts.json`).
When the words are meant to change, read the new texts, then write the new digests:

    .venv/bin/python -m tests.channels.test_pinned_texts
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from pathlib import Path
from typing import Any

from bot.feed.models import Feed
from bot.registry import default_registry
from bot.statement import build_statements
from channels.x.posts import MARKER_ROOM, MAX_LENGTH, renderer_within

PINNED = Path(__file__).parents[1] / "data" / "pinned_texts.json"
BASE = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
NOWS = {
    "morning": BASE + dt.timedelta(hours=1, minutes=7),
    "next-week": BASE + dt.timedelta(days=6, hours=3),
}
WORDS = {
    "es": (
        "el servicio de permisos no responde en la sede electrónica desde primera hora y los"
        " vecinos pueden acudir a cualquier oficina municipal con cita previa para hacer el"
        " trámite sin recargo mientras dure la avería"
    ),
    "en": (
        "the permit service does not answer on the website since early morning and residents"
        " can go to any council office with an appointment to do it without a surcharge while"
        " the fault lasts"
    ),
}
# What people type beside plain words: addresses, accents, emoji, CJK, a decimal point.
SPICE = [
    "www.sede.example/permisos",
    "https://sede.example.org/tramites?id=3",
    "sede.example.org",
    "2.50 €",
    "café",
    "Año",
    "⚠️",
    "🚧🚧",
    "停電",
    "東京都",
    "©",
    "naïve",
    "(ver nota)",
    "t.co/abc",
]
AREA_NAMES = [
    ("distrito Centro", "City Centre district"),
    ("Sol", "Sol"),
    ("zona Norte", "North area"),
    ("barrio de Salamanca", "Salamanca quarter"),
    ("Chamberí", "Chamberí"),
    ("Tetuán de las Victorias y alrededores del mercado", "Tetuán and the market's streets"),
    ("新宿", "Shinjuku"),
    ("Vallecas 🚧", "Vallecas 🚧"),
]
# Templates from the feed too: one fitting by the engine's drops, one only by its last resort.
OVERRIDES = {
    "x": "{{ f.status }}: {{ fit(s.title) }}. {{ fit(s.summary) }} {{ fit(s.workaround) }}"
    " {{ s.url }}",
    "web": "{{ s.title }}\n{{ s.summary }}\n{{ s.summary }}\n{{ s.staff_instructions or '' }}",
}


def sentence(rng: random.Random, locale: str, spice: bool) -> str:
    words = rng.sample(WORDS[locale].split(), rng.randint(3, 14))
    if spice and rng.random() < 0.5:
        words.insert(rng.randrange(len(words) + 1), rng.choice(SPICE))
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "!", "?", "…"])


def prose(rng: random.Random, sentences: int, limit: int, spice: bool = True) -> dict[str, str]:
    out = {}
    for locale in ("es", "en"):
        text = " ".join(sentence(rng, locale, spice) for _ in range(sentences))
        out[locale] = text[:limit].strip() or "Ok."
    return out


def incident(rng: random.Random, n: int, areas: list[dict[str, Any]]) -> dict[str, Any]:
    started = BASE + dt.timedelta(minutes=rng.randint(-3000, 600))
    maintenance = n % 7 == 3
    status = (
        rng.choice(["scheduled", "in_progress", "resolved"])
        if maintenance
        else rng.choice(["investigating", "identified", "monitoring", "resolved"])
    )
    out: dict[str, Any] = {
        "id": f"incident-{n}" if n % 9 else f"incident.v{n}_x",
        "title": prose(rng, 1, rng.choice([30, 80]), spice=n % 5 == 0),
        "summary": prose(rng, rng.randint(1, 5), 400),
        "status": status,
        "severity": rng.choice(["minor", "major", "critical"]),
        "services": [f"service-{n % 3}"],
        "areas": [a["id"] for a in rng.sample(areas, rng.choice([1, 2, 3, 5, 9, 14]))],
        "started_at": started.isoformat(),
    }
    if maintenance:
        out["kind"] = "maintenance"
        start = started + dt.timedelta(hours=rng.randint(-4, 30))
        out["maintenance"] = {
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=rng.randint(1, 8))).isoformat(),
        }
    if rng.random() < 0.7:
        out["eta"] = (started + dt.timedelta(minutes=rng.randint(30, 3000))).isoformat()
    if rng.random() < 0.8:
        out["next_update_by"] = (started + dt.timedelta(minutes=rng.randint(20, 1500))).isoformat()
    if rng.random() < 0.8:
        out["workaround"] = prose(rng, rng.randint(1, 4), 300)
    if rng.random() < 0.4:
        out["apology"] = prose(rng, rng.randint(1, 3), 200, spice=False)
    if rng.random() < 0.7:
        out["staff_instructions"] = prose(rng, rng.randint(1, 6), 1000)
    for k in range(rng.choice([0, 0, 1, 3])):
        out.setdefault("updates", []).append(
            {
                "at": (started + dt.timedelta(minutes=10 * (k + 1))).isoformat(),
                "status": "identified",
                "message": prose(rng, rng.randint(1, 3), 1000),
            }
        )
    if status == "resolved":
        out["resolved_at"] = (started + dt.timedelta(hours=rng.randint(1, 9))).isoformat()
        if rng.random() < 0.8:
            out["resolution"] = prose(rng, rng.randint(1, 3), 300)
    return out


def feed(incidents: int = 24, seed: int = 19) -> Feed:
    rng = random.Random(seed)
    areas = [
        {"id": f"area-{n}", "name": {"es": es, "en": en}, "postcodes": [f"{28000 + n:05d}"]}
        for n, (es, en) in enumerate(AREA_NAMES)
    ] + [
        {"id": f"barrio-{n}", "name": {"es": f"Barrio {n}", "en": f"District {n}"}}
        for n in range(20)
    ]
    organization = {
        "name": {"es": "Ciudad de Prueba", "en": "Test City"},
        "timezone": "Europe/Madrid",
        "locales": ["es", "en"],
        "default_locale": "es",
        "status_page_url": "https://estado.example.org/status",
        "human_contact": {
            "phone": "+34 910 000 010",
            "hours": {"es": "De 8:00 a 20:00. Sábados de 9:00 a 14:00.", "en": "8 AM to 8 PM."},
        },
        "apology": {"es": "Sentimos las molestias.", "en": "We are sorry for the trouble."},
    }
    return Feed.model_validate(
        {
            "organization": organization,
            "services": [
                {"id": f"service-{n}", "name": {"es": f"Servicio {n}", "en": f"Service {n}"}}
                for n in range(3)
            ],
            "areas": areas,
            "incidents": [incident(rng, n, areas) for n in range(incidents)],
        }
    )


def texts() -> dict[str, str]:
    """Every channel's text of every statement at each of `NOWS` (X's posts, with their
    marker's room, too), with and without a template from the feed; keyed "now incident
    locale channel"."""
    renderers = {
        **default_registry().renderers,
        "x-post": renderer_within(MAX_LENGTH - MARKER_ROOM),
    }
    statements = build_statements(feed(), revision=1)
    out: dict[str, str] = {}
    for label, now in NOWS.items():
        for (incident_id, locale), statement in sorted(statements.items()):
            for name, renderer in sorted(renderers.items()):
                key = f"{label} {incident_id} {locale} {name}"
                out[key] = renderer.render(statement, now)
                if name in OVERRIDES:
                    override = {locale: OVERRIDES[name]}
                    out[f"{key} override"] = renderer.render(statement, now, override)
    return out


def group_of(key: str) -> str:
    return " ".join(key.split()[:3])


def digests(every: dict[str, str]) -> dict[str, str]:
    """One digest per moment, incident and locale: its channels' texts, in order."""
    groups: dict[str, list[str]] = {}
    for key, text in sorted(every.items()):
        groups.setdefault(group_of(key), []).append(f"{key}\n{text}")
    return {
        group: hashlib.sha256("\n\0".join(parts).encode()).hexdigest()[:16]
        for group, parts in groups.items()
    }


def test_every_channel_says_what_it_said() -> None:
    every = texts()
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    made = digests(every)
    changed = sorted(
        group for group in made.keys() | pinned.keys() if made.get(group) != pinned.get(group)
    )
    # The first changed group's texts, to read what they say now.
    shown = {key: text for key, text in every.items() if changed and group_of(key) == changed[0]}
    assert not changed, (changed, shown)


if __name__ == "__main__":
    PINNED.write_text(json.dumps(digests(texts()), indent=1, sort_keys=True) + "\n", "utf-8")
