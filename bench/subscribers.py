"""Customer notifications: 10,000 subscribers in one area, one revision affecting it.

Unavoz runs in this process (feed service, the customer channel's revision handler queueing
notifications with `queue_notifications`, outbox on SQLite, delivery engine,
python-telegram-bot); the stand-in runs in a process of its own, so this process's CPU time
is Unavoz's. Phases, each on a fresh database:

- limits off (TELEGRAM_RATE=0/1): time from the revision to the first and the last
  notification, notifications/s, CPU per notification, peak memory.
- the same with sending replaced by a no-op: the engine and the store alone.
- Telegram's limits on (30/s per bot, 1/s per chat), against a stand-in that answers 429
  past them: `--seconds` at the limit, the rate reached (over the whole seconds from the
  first notification), and how many sends it refused.

Each phase also says how long recording the revision took, the customer channel queueing
the notifications included (`service.apply` returns after its listeners).

    .venv/bin/python bench/subscribers.py [--subscribers 10000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.clock import FrozenClock  # noqa: E402
from bot.feed.changes import UpdateIncident  # noqa: E402
from bot.runner import Unavoz  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import Place, open_store  # noqa: E402
from channels.telegram.customer_delivery import CustomerAdapter  # noqa: E402
from tests.conftest import NOON, SMALL_FEED  # noqa: E402
from tests.standins.telegram import DEFAULT_TOKEN  # noqa: E402

FIRST_CHAT = 500_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_standin(enforce: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "tests.standins.telegram", "--port", str(port),
               "--token", DEFAULT_TOKEN] + (["--enforce-limits"] if enforce else [])  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, f"http://127.0.0.1:{port}"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def phase(
    url: str, subscribers: int, limits_off: bool, seconds: float, noop: bool = False
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "status_feed.yaml"
        feed.write_text(SMALL_FEED.read_text(encoding="utf-8"), encoding="utf-8")
        database = f"sqlite:///{tmp}/unavoz.db"
        env = {
            "UNAVOZ_FEED": str(feed),
            "UNAVOZ_DATABASE_URL": database,
            "TELEGRAM_CUSTOMER_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": url,
        }
        if limits_off:
            env["TELEGRAM_RATE"] = "0/1"
        async with open_store(database) as store:
            for n in range(subscribers):  # in Centro, half in each language
                await store.subscribe(
                    "customer",
                    str(FIRST_CHAT + n),
                    places=[Place.postcode("28012")],
                    locale="es" if n % 2 else "en",
                )
            app = Unavoz.build(Settings.from_env(env), store, clock=FrozenClock(NOON))
            adapter = next(a for a in app.adapters if isinstance(a, CustomerAdapter))
            sent_at: list[float] = []
            deliver = adapter.deliver
            enough = asyncio.Event()
            wanted = subscribers

            async def timed(delivery):  # type: ignore[no-untyped-def]
                if not noop:  # (noop: the engine and store alone, no HTTP)
                    await deliver(delivery)
                sent_at.append(time.perf_counter())
                if len(sent_at) >= wanted:
                    enough.set()

            adapter.deliver = timed  # type: ignore[method-assign]
            stop = asyncio.Event()
            task = asyncio.create_task(app.run(stop))
            await asyncio.sleep(1.0)  # started, idle
            rss0 = rss_mb()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            change = UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=7))
            await app.service.apply(change, author="bench", source="bench")
            recorded = time.perf_counter() - wall0
            if limits_off:
                await enough.wait()
            else:
                await asyncio.sleep(seconds)
            cpu = time.process_time() - cpu0
            end = time.perf_counter()
            stop.set()
            await task
        first = sent_at[0] - wall0
        done = len(sent_at)
        last = (sent_at[-1] if limits_off else end) - wall0
        rate = done / (last - first) if last > first else 0.0
        if not limits_off:
            # Under the limit the engine sends 30 at once each second: the rate is over whole
            # seconds from the first, so a burst at the window's end does not count as more.
            whole = int(last - first)
            rate = sum(1 for t in sent_at if t - wall0 < first + whole) / whole
        return {
            "recorded": recorded,
            "first": first,
            "last": last,
            "sent": done,
            "rate": rate,
            "cpu_ms": cpu / done * 1000,
            "rss": rss_mb(),
            "rss_growth": rss_mb() - rss0,
        }


def calls(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(f"{url}/_standin/calls") as answer:
        found = json.load(answer)
    sends = [c for c in found if c["method"].lower() == "sendmessage"]
    return len(sends), sum(1 for c in sends if c["status"] == 429)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    free, url = start_standin(enforce=False)
    strict, strict_url = start_standin(enforce=True)
    try:
        print(f"{args.subscribers} subscribers in one area, one revision affecting it")
        off = asyncio.run(phase(url, args.subscribers, True, 0))
        print(
            f"limits off: revision recorded (and notifications queued) in {off['recorded']:.2f} s;"
            f" first notification {off['first']:.3f} s after the revision (target ≤ 1 s), last"
            f" {off['last']:.2f} s; {off['rate']:.0f} notifications/s after the first (target"
            f" ≥ 300); {args.subscribers / off['last']:.0f}/s overall; CPU"
            f" {off['cpu_ms']:.2f} ms a notification; peak RSS {off['rss']:.0f} MB (+"
            f"{off['rss_growth']:.0f} MB during the fan-out)"
        )
        bare = asyncio.run(phase(url, args.subscribers, True, 0, noop=True))
        print(
            f"engine and store alone (sending a no-op): recorded in {bare['recorded']:.2f} s;"
            f" first {bare['first']:.3f} s, last"
            f" {bare['last']:.2f} s; {bare['rate']:.0f} notifications/s after the first; CPU"
            f" {bare['cpu_ms']:.2f} ms a notification"
        )
        on = asyncio.run(phase(strict_url, args.subscribers, False, args.seconds))
        sends, refused = calls(strict_url)
        print(
            f"limits on ({args.seconds:g} s): revision recorded (and notifications queued) in"
            f" {on['recorded']:.2f} s; {on['sent']} sent, first {on['first']:.3f} s after"
            f" the revision, {on['rate']:.1f}/s after the first = {on['rate'] / 30:.1%} of 30/s"
            f" (target ≥ 95%); the strict stand-in got {sends} sendMessage calls, {refused} over"
            f" a limit (30/s per bot, 1/s per chat)"
        )
    finally:
        for process in (free, strict):
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
