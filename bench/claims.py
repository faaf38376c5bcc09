"""Claims lint on the labelled corpus: precision and recall per kind, and time per reply.

Runs every reply of tests/claims/corpus.yaml through `lint_reply` (one core, the
feed's facts built once beforehand, as a running server holds them) and prints
precision and recall per finding kind and overall, then the lint's time per reply
(p50/p99 over --rounds passes). Targets: precision ≥ 0.95, recall ≥ 0.90 overall,
every kind ≥ 0.85; p99 ≤ 5 ms.

With --dateparser (pip install dateparser), also times dateparser's search_dates on
the same replies and counts the replies labelled `eta` in which it finds any time:
the measurement behind not using it (see README, Claims lint).

    .venv/bin/python bench/claims.py [--rounds 20] [--dateparser]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.claims import KINDS, facts_of
from tests.claims.corpus import Corpus, lint, load_corpus, score


def quality(corpus: Corpus) -> None:
    scores = score(corpus)
    languages = {lang: sum(r.lang == lang for r in corpus.replies) for lang in ("es", "en")}
    contradicting = sum(bool(r.expect) for r in corpus.replies)
    print(
        f"corpus: {len(corpus.replies)} replies ({languages['es']} es, {languages['en']} en), "
        f"{contradicting} contradicting the feed"
    )
    print(f"{'kind':<12} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for kind in (*KINDS, "overall"):
        counts = scores.overall if kind == "overall" else scores.per_kind[kind]
        print(
            f"{kind:<12} {counts.precision:>9.3f} {counts.recall:>7.3f} "
            f"{counts.true_positives:>4} {counts.false_positives:>4} {counts.false_negatives:>4}"
        )
    for reply, found in scores.misses:
        print(f"  miss: expected {sorted(reply.expect)}, found {sorted(found)}: {reply.text}")


def timing(corpus: Corpus, rounds: int) -> None:
    """Wall time and this thread's CPU time per reply: on a shared machine the wall time's
    tail is other processes' (preemption), the CPU time is the lint's own."""
    facts_of(corpus.feed)  # built once per revision in the server
    for reply in corpus.replies:
        lint(corpus, reply)  # warm: regexes compiled, caches filled
    wall: list[float] = []
    cpu: list[float] = []
    gc.disable()
    try:
        for _ in range(rounds):
            for reply in corpus.replies:
                started, started_cpu = time.perf_counter(), time.thread_time()
                lint(corpus, reply)
                cpu.append(time.thread_time() - started_cpu)
                wall.append(time.perf_counter() - started)
    finally:
        gc.enable()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for name, samples in (("wall", wall), ("cpu", cpu)):
        samples.sort()
        p50 = statistics.median(samples) * 1000
        p99 = samples[int(len(samples) * 0.99) - 1] * 1000
        print(
            f"time per reply ({name}): p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
            f"max {samples[-1] * 1000:.3f} ms ({len(samples)} runs, one core, load {load:.1f})"
        )


def dateparser_baseline(corpus: Corpus) -> None:
    try:
        from dateparser.search import search_dates  # type: ignore[import-not-found]
    except ImportError:
        print("dateparser: not installed (pip install dateparser)")
        return
    settings = {
        "RELATIVE_BASE": corpus.now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": "Europe/Madrid",
        "RETURN_AS_TIMEZONE_AWARE": True,
    }
    search_dates("warm up a las 18:00", languages=["es", "en"], settings=settings)
    samples, found = [], 0
    eta = [r for r in corpus.replies if "eta" in r.expect]
    for reply in corpus.replies:
        started = time.perf_counter()
        hits = search_dates(reply.text, languages=["es", "en"], settings=settings)
        samples.append(time.perf_counter() - started)
        if reply in eta and hits:
            found += 1
    samples.sort()
    print(
        f"dateparser search_dates: p50 {statistics.median(samples) * 1000:.2f} ms, "
        f"p99 {samples[int(len(samples) * 0.99) - 1] * 1000:.2f} ms; finds a time in "
        f"{found}/{len(eta)} replies labelled eta"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--dateparser", action="store_true")
    args = parser.parse_args()
    corpus = load_corpus()
    quality(corpus)
    timing(corpus, args.rounds)
    if args.dateparser:
        dateparser_baseline(corpus)


if __name__ == "__main__":
    main()
