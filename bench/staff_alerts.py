"""Staff alerts: one revision telling 200 staff groups, through the engine to the stand-in.

Unavoz runs in this process (feed service, planner, outbox on SQLite, delivery engine,
python-telegram-bot); the stand-in runs in a process of its own, so this process's CPU
time is Unavoz's. Phases, each on a fresh database:

- limits off (TELEGRAM_RATE=0/1): time from the revision to the first and the last alert,
  alerts/s, and CPU per alert; beside it, in the same run, the baselines: the channel's bare
  PTB `Bot` (`TelegramBot`, on aiohttp) sending the same 200 messages with the same
  concurrency (32) to the same stand-in, and, for scale, a PTB `Bot` as it comes (its
  default HTTPXRequest, `send_message` with an `InlineKeyboardMarkup`).
- Telegram's limits on (30/s per bot, 20/min per group): the same, and the most messages
  the stand-in saw in any second / any minute per group (they must hold).

    .venv/bin/python bench/staff_alerts.py [--groups 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is called telegram.py: its folder, first on the path, would hide PTB's package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.clock import FrozenClock  # noqa: E402
from bot.feed.changes import OpenIncident  # noqa: E402
from bot.runner import Unavoz  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import open_store  # noqa: E402
from channels.telegram.bot_api import TelegramBot  # noqa: E402
from channels.telegram.delivery import StaffAdapter  # noqa: E402
from tests.conftest import NOON, SMALL_FEED  # noqa: E402
from tests.standins.telegram import DEFAULT_TOKEN  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed_with_groups(groups: int) -> str:
    listed = "".join(
        f"  - id: group-{n}\n    name: Group {n}\n    locale: {'es' if n % 2 else 'en'}\n"
        f"    telegram_chat_ids: [{-1_002_000_000_000 - n}]\n"
        for n in range(groups)
    )
    # No open incident at first: the revision measured is the only one telling anything.
    text = SMALL_FEED.read_text(encoding="utf-8")
    resolved = "    resolved_at: 2026-11-24T09:00:00+01:00\n    resolution: {es: Ya., en: Done.}\n"
    text = text.replace("    status: identified\n", "    status: resolved\n" + resolved, 1)
    text = text.replace(
        "    status: scheduled\n    services: [fibre]",
        "    status: resolved\n    resolved_at: 2026-11-25T04:00:00+01:00\n    services: [fibre]",
        1,
    )
    return f"{text}staff_groups:\n{listed}"


OPEN = OpenIncident(
    id="water-main-burst",
    title={"es": "Rotura de tubería", "en": "Water main burst"},
    summary={"es": "Sin agua en Centro.", "en": "No water in the centre."},
    services=["permits"],
    areas=["centro"],
    staff_instructions={"es": "Corten la calle.", "en": "Close the street."},
    next_update_by=NOON.replace(hour=15),
)


async def engine_phase(url: str, groups: int, limits_off: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "status_feed.yaml"
        feed.write_text(feed_with_groups(groups), encoding="utf-8")
        database = f"sqlite:///{tmp}/unavoz.db"
        env = {
            "UNAVOZ_FEED": str(feed),
            "UNAVOZ_DATABASE_URL": database,
            "TELEGRAM_STAFF_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": url,
        }
        if limits_off:
            env["TELEGRAM_RATE"] = "0/1"
        async with open_store(database) as store:
            app = Unavoz.build(Settings.from_env(env), store, clock=FrozenClock(NOON))
            adapter = next(a for a in app.adapters if isinstance(a, StaffAdapter))
            sent_at: list[float] = []
            deliver = adapter.deliver

            all_sent = asyncio.Event()

            async def timed(delivery):  # type: ignore[no-untyped-def]
                await deliver(delivery)
                sent_at.append(time.perf_counter())
                if len(sent_at) >= groups:
                    all_sent.set()

            adapter.deliver = timed  # type: ignore[method-assign]
            stop = asyncio.Event()
            task = asyncio.create_task(app.run(stop))
            await asyncio.sleep(1.0)  # started, idle
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await app.service.apply(OPEN, author="bench", source="bench")
            await all_sent.wait()
            cpu = time.process_time() - cpu0
            stop.set()
            await task
        return {
            "first": sent_at[0] - wall0,
            "last": sent_at[-1] - wall0,
            "rate": groups / (sent_at[-1] - wall0),
            "cpu_ms": cpu / groups * 1000,
        }


async def baseline_phase(url: str, groups: int) -> dict[str, float]:
    async with TelegramBot(DEFAULT_TOKEN, url) as telegram:
        gate = asyncio.Semaphore(32)
        text = "ALERTA · grave · Rotura de tubería\n" * 8

        async def one(n: int) -> None:
            async with gate:
                await telegram.send_message(-1_003_000_000_000 - n, text, [[("Recibido", "ack")]])

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(groups)))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"last": wall, "rate": groups / wall, "cpu_ms": cpu / groups * 1000}


async def httpx_phase(url: str, groups: int) -> dict[str, float]:
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connection_pool_size=40)
    async with Bot(DEFAULT_TOKEN, base_url=f"{url}/bot", request=request) as bot:
        gate = asyncio.Semaphore(32)
        text = "ALERTA · grave · Rotura de tubería\n" * 8
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Recibido", callback_data="ack")]])

        async def one(n: int) -> None:
            async with gate:
                await bot.send_message(-1_003_000_000_000 - n, text, reply_markup=markup)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(groups)))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"last": wall, "rate": groups / wall, "cpu_ms": cpu / groups * 1000}


def count_429(url: str) -> tuple[int, int]:
    """(sendMessage calls, of which answered 429) as the stand-in recorded them."""
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/_standin/calls") as answer:
        calls = json.load(answer)
    sends = [c for c in calls if c["method"].lower() == "sendmessage"]
    return len(sends), sum(1 for c in sends if c["status"] == 429)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    free, url = start_standin(enforce=False)
    strict, strict_url = start_standin(enforce=True)
    try:
        print(
            f"{args.groups} staff groups, one revision telling all of them (best of {args.repeat})"
        )
        print(f"{'phase':<38}{'first':>9}{'last':>9}{'alerts/s':>10}{'CPU/alert':>11}")
        rows = []
        for name, run in (
            ("PTB as it comes (httpx), 32 at once", lambda: httpx_phase(url, args.groups)),
            ("baseline: bare PTB Bot, 32 at once", lambda: baseline_phase(url, args.groups)),
            ("engine, limits off", lambda: engine_phase(url, args.groups, True)),
        ):
            best = min((asyncio.run(run()) for _ in range(args.repeat)), key=lambda r: r["cpu_ms"])
            rows.append((name, best))
        limited = asyncio.run(engine_phase(strict_url, args.groups, False))
        rows.append(("engine, Telegram's limits on", limited))
        for name, r in rows:
            first = f"{r['first']:.3f} s" if "first" in r else "-"
            print(
                f"{name:<38}{first:>9}{r['last']:>7.2f} s{r['rate']:>10.1f}{r['cpu_ms']:>8.2f} ms"
            )
        engine = rows[2][1]
        print(
            f"engine CPU: {1000 / engine['cpu_ms']:.0f} alerts per CPU-second"
            f" = {1000 / engine['cpu_ms'] / 30:.1f}× Telegram's 30/s (target ≥ 10×);"
            f" first alert {limited['first']:.3f} s after the revision (target ≤ 1 s)"
        )
        sends, refused = count_429(strict_url)
        print(
            f"limits: the strict stand-in (429 past 30/s per bot, 20/min per group) got {sends}"
            f" sendMessage calls, {refused} over a limit; peak RSS {rss_mb():.0f} MB"
        )
    finally:
        for process in (free, strict):
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
