"""Time edges at scale: 5,000 open incidents whose promises fall due over one day.

For a sample of edges spread over the day, the clock is set to the edge's instant and
the timekeeper's job runs as the scheduler would run it; measured: the time from the
instant until the revision is recorded and until the webhook channel (a local stand-in
receiver) has it — what every channel would see. The job looks every 0.5 s, so an
edge's lateness is that wait (≤ 0.5 s) plus this processing. Also: the scheduler's
memory for the pending edges, and the baseline of the same run: a bare libyaml parse
of the feed (the least a revision cost while each was validated whole; now a change
is validated item by item, `bot.feed.loader.revalidate`). The heap is settled once the
feed is loaded, as `unavoz run` does.

    .venv/bin/python bench/edges.py [--incidents 5000] [--samples 20] [--profile FILE]

`--profile FILE` writes a cProfile of the measured instants only (not the catch-up
between them) for `python -m pstats FILE`.

Target (issue #14): p99 lateness ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import logging
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feed_scale import HEADER
from bot.clock import FrozenClock
from bot.delivery.engine import DeliveryEngine
from bot.delivery.plan import Planner
from bot.edges import EdgePlan
from bot.feed.loader import parse_feed
from bot.runtime import settle_heap
from bot.service import FeedService
from bot.store import open_store
from bot.timekeeper import EVERY, Timekeeper
from channels.webhook import WebhookAdapter
from tests.standins.webhook import WebhookStandIn

MADRID = ZoneInfo("Europe/Madrid")
DAY_START = dt.datetime(2026, 11, 24, 0, 0, tzinfo=MADRID)


def generate(incidents: int, hook: str, seed: int = 11) -> str:
    rng = random.Random(seed)
    lines = [
        *HEADER,
        "services:",
        "  - id: water",
        "    name: {es: agua, en: water}",
        "areas:",
    ]
    for n in range(50):
        lines += [
            f"  - id: area-{n}",
            f"    name: {{es: Barrio {n}, en: District {n}}}",
            f'    postcodes: ["{28000 + n}"]',
        ]
    lines.append("incidents:")
    for n in range(incidents):
        # Each incident's promises fall somewhere in the day: next update, then the ETA.
        update = DAY_START + dt.timedelta(seconds=rng.randrange(60, 86_000))
        eta = update + dt.timedelta(minutes=rng.randrange(10, 240))
        lines += [
            f"  - id: incident-{n}",
            f"    title: {{es: Corte {n}, en: Outage {n}}}",
            f"    summary: {{es: Sin agua en la zona {n}., en: No water in zone {n}.}}",
            "    status: identified",
            "    services: [water]",
            f"    areas: [area-{n % 50}]",
            f"    started_at: {DAY_START.isoformat()}",
            f"    eta: {eta.isoformat()}",
            f"    next_update_by: {update.isoformat()}",
        ]
    lines += ["channels:", "  webhook:", "    options:", f"      urls: [{hook}]"]
    return "\n".join(lines) + "\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(incidents: int, samples: int, profile: str | None = None) -> None:
    standin = await WebhookStandIn().start()
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "status_feed.yaml"
        text = generate(incidents, standin.url("ops"))
        feed_file.write_text(text, "utf-8")

        started = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        bare_parse = time.perf_counter() - started
        started = time.perf_counter()
        loaded = parse_feed(text, str(feed_file))
        full_parse = time.perf_counter() - started

        tracemalloc.start()
        plan = EdgePlan()  # what the timekeeper keeps
        edges = plan.rebuild(loaded.feed)
        edges_memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()

        clock = FrozenClock(DAY_START)
        webhook = WebhookAdapter(secret="bench")
        async with open_store(f"sqlite:///{tmp}/unavoz.db") as store:
            service = FeedService(feed_file, store, clock=clock, planner=Planner([webhook], clock))
            keeper = Timekeeper(service)
            await service.start()
            settle_heap()  # as `unavoz run` does once the feed is loaded
            engine = DeliveryEngine(store, [webhook], poll=0.02)
            stop = asyncio.Event()
            async with webhook:
                runner = asyncio.create_task(engine.run(stop))
                await _drain(store)
                chosen = edges[:: max(1, len(edges) // samples)][:samples]
                recorded: list[float] = []
                profiler = cProfile.Profile()
                delivered: list[float] = []
                for edge in chosen:
                    # What fell due before it is told first, off the clock: one edge alone.
                    clock.set(edge.at - dt.timedelta(milliseconds=1))
                    await keeper.tell_due()
                    engine.wake()
                    await _drain(store)
                    clock.set(edge.at)
                    before = len(standin.requests)
                    if profile:
                        profiler.enable()
                    started = time.perf_counter()
                    told = await keeper.tell_due()
                    recorded.append(time.perf_counter() - started)
                    engine.wake()
                    await _arrived(standin, before + len(told))
                    delivered.append(time.perf_counter() - started)
                    profiler.disable()
                stop.set()
                await runner
                if profile:
                    profiler.dump_stats(profile)
    await standin.stop()

    print(f"time edges: {incidents} incidents, {len(edges)} edges over one day")
    print(f"  the job looks every {EVERY} s: lateness = that wait + the processing below")
    print()
    print("| measure | p50 | p99 | max |")
    print("| --- | --- | --- | --- |")
    for name, values in (
        ("instant → revision recorded", recorded),
        ("instant → webhook has it", delivered),
    ):
        print(
            f"| {name} | {statistics.median(values):.3f} s | {pct(values, 0.99):.3f} s"
            f" | {max(values):.3f} s |"
        )
    worst = pct(delivered, 0.99) + EVERY
    print(f"| lateness p99 (with the 0.5 s look) | | {worst:.3f} s | target ≤ 1 s |")
    print()
    print("| where the time goes (one revision) | seconds |")
    print("| --- | --- |")
    print(f"| baseline: bare libyaml parse of the feed | {bare_parse:.3f} |")
    print(f"| validate the feed (parse_feed) | {full_parse:.3f} |")
    print(
        f"| ratio revision / bare parse (p50) | {statistics.median(recorded) / bare_parse:.2f}× |"
    )
    print()
    print(f"scheduler memory for the pending edges: {edges_memory / 1e6:.2f} MB")


async def _arrived(standin: WebhookStandIn, count: int) -> None:
    for _ in range(100_000):
        if len(standin.requests) >= count:
            return
        await asyncio.sleep(0.002)


async def _drain(store: object) -> None:
    for _ in range(3000):
        counts = await store.delivery_counts()  # type: ignore[attr-defined]
        if not counts.get("pending") and not counts.get("sending"):
            return
        await asyncio.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the measured instants")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # each edge told is logged: not what is measured
    asyncio.run(run(args.incidents, args.samples, args.profile))


if __name__ == "__main__":
    main()
