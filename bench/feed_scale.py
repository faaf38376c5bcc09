"""Feed at scale: 500 incidents, 2,000 areas, 50,000 postcodes.

Prints the time to load + validate + render every channel, the lookup latency
(p50/p99 over 10,000 random postcodes) and peak memory, each beside a baseline
measured in the same run: a bare libyaml parse of the same text, and a bare
dict lookup. Targets: load + validate + render ≤ 1 s; lookup p99 ≤ 1 ms.

    .venv/bin/python bench/feed_scale.py [--incidents 500] [--areas 2000] [--postcodes 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.feed.loader import parse_feed
from bot.feed.lookup import Lookup
from bot.registry import default_registry
from bot.statement import build_statements

RENDERERS = default_registry().renderers

STATUSES = ["investigating", "identified", "monitoring", "resolved"]


# The start of every generated feed (the other benches' too): version and organization.
HEADER = [
    "version: 1",
    "organization:",
    "  name: {es: Ciudad de Prueba, en: Test City}",
    "  timezone: Europe/Madrid",
    "  locales: [es, en]",
    "  default_locale: es",
    "  status_page_url: https://estado.example.org/status",
    "  human_contact:",
    '    phone: "+34 910 000 010"',
    "    hours: {es: de 8:00 a 20:00, en: 8 AM to 8 PM}",
    "  apology: {es: Sentimos las molestias., en: We are sorry for the trouble.}",
]


def generate(incidents: int, areas: int, postcodes: int, seed: int = 7) -> str:
    """A feed in the shape operators write, with nested areas and bilingual texts."""
    rng = random.Random(seed)
    per_area = postcodes // areas
    lines = [*HEADER, "services:"]
    for n in range(20):
        lines += [f"  - id: service-{n}", f"    name: {{es: Servicio {n}, en: Service {n}}}"]
    lines.append("areas:")
    code = 10000
    for n in range(areas):
        lines += [f"  - id: area-{n}", f"    name: {{es: Barrio {n}, en: District {n}}}"]
        if n >= 50:
            lines.append(f"    parent: area-{n % 50}")
        codes = ", ".join(f'"{code + k:05d}"' for k in range(per_area))
        code += per_area
        lines.append(f"    postcodes: [{codes}]")
    lines.append("incidents:")
    for n in range(incidents):
        status = rng.choice(STATUSES)
        start = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
        lines += [
            f"  - id: incident-{n}",
            f"    title: {{es: Fallo del servicio {n}, en: Service {n} failure}}",
            "    summary:",
            f"      es: El servicio {n} no funciona en varias zonas desde esta mañana.",
            f"      en: Service {n} has not worked in several areas since this morning.",
            f"    status: {status}",
            f"    services: [service-{n % 20}]",
            f"    areas: [{', '.join(f'area-{rng.randrange(areas)}' for _ in range(3))}]",
            f"    started_at: {start.isoformat()}",
            f"    eta: {(start + dt.timedelta(hours=6)).isoformat()}",
            f"    next_update_by: {(start + dt.timedelta(hours=1)).isoformat()}",
            "    workaround:",
            "      es: Puede hacer el trámite en cualquier oficina con cita previa.",
            "      en: You can do it at any office with an appointment.",
            "    staff_instructions: {es: No multar en la zona., en: Do not fine in the area.}",
        ]
        if status == "resolved":
            lines.append(f"    resolved_at: {(start + dt.timedelta(hours=3)).isoformat()}")
    return "\n".join(lines) + "\n"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--areas", type=int, default=2000)
    parser.add_argument("--postcodes", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the pipeline")
    args = parser.parse_args()

    text = generate(args.incidents, args.areas, args.postcodes)
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    print(
        f"feed: {len(text) / 1e6:.1f} MB, {args.incidents} incidents, {args.areas} areas,"
        f" {args.postcodes} postcodes"
    )

    baseline_times, parse_times, render_times, total_times = [], [], [], []
    renders = 0
    for _ in range(args.repeat):
        gc.collect()
        started = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        baseline_times.append(time.perf_counter() - started)

        gc.collect()
        started = time.perf_counter()
        loaded = parse_feed(text, "generated.yaml")
        lookup = Lookup(loaded.feed)
        parsed = time.perf_counter()
        statements = build_statements(loaded.feed, revision=1)
        renders = 0
        for statement in statements.values():
            for renderer in RENDERERS.values():
                renderer.render(statement, now)
                renders += 1
        done = time.perf_counter()
        parse_times.append(parsed - started)
        render_times.append(done - parsed)
        total_times.append(done - started)

    rng = random.Random(11)
    codes = [f"{10000 + rng.randrange(args.postcodes):05d}" for _ in range(args.lookups)]
    bare = {code: () for code in codes}
    lookup_times, bare_times = [], []
    for code in codes:
        started = time.perf_counter()
        lookup.for_postcode(code, now)
        lookup_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        bare.get(code)
        bare_times.append(time.perf_counter() - started)

    tracemalloc.start()
    loaded = parse_feed(text, "generated.yaml")
    Lookup(loaded.feed)
    build_statements(loaded.feed, revision=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    best = min(total_times)
    baseline = min(baseline_times)
    p50, p99 = percentile(lookup_times, 0.50), percentile(lookup_times, 0.99)
    b50, b99 = percentile(bare_times, 0.50), percentile(bare_times, 0.99)
    print()
    print(f"{'measure':<44}{'unavoz':>12}{'baseline':>12}{'ratio':>9}")
    print(
        f"{'load + validate + index (s)':<44}{min(parse_times):>12.3f}{baseline:>12.3f}"
        f"{min(parse_times) / baseline:>9.2f}"
    )
    print(f"{f'render {renders} texts (s)':<44}{min(render_times):>12.3f}{'':>12}{'':>9}")
    print(
        f"{'load + validate + render, total (s)':<44}{best:>12.3f}{baseline:>12.3f}"
        f"{best / baseline:>9.2f}   target ≤ 1 s: {'met' if best <= 1 else 'MISSED'}"
    )
    print(f"{'lookup p50 (µs)':<44}{p50 * 1e6:>12.2f}{b50 * 1e6:>12.2f}{p50 / b50:>9.1f}")
    print(
        f"{'lookup p99 (µs)':<44}{p99 * 1e6:>12.2f}{b99 * 1e6:>12.2f}{p99 / b99:>9.1f}"
        f"   target ≤ 1000 µs: {'met' if p99 <= 1e-3 else 'MISSED'}"
    )
    print(f"{'lookup mean (µs)':<44}{statistics.mean(lookup_times) * 1e6:>12.2f}")
    print(f"{'peak traced memory, load + index (MB)':<44}{peak / 1e6:>12.1f}")
    print("baseline: yaml.load(CSafeLoader) of the same text; a bare dict.get per postcode")


if __name__ == "__main__":
    main()
