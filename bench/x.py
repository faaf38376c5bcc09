"""X channel: 1,000 mentions at once over 50 incidents, and a revision's time to its post.

Builds a feed of 50 incidents, each in its own area (a name, a postcode) and one of five
services, and 1,000 labelled mentions in Spanish and English: by postcode, by area name
(some misspelt, some without accents), by service and area, and ones naming nothing
(labelled with no incident). They arrive at once on the X stand-in; one poll reads them
(pages of 100), matches each and keeps it with its draft in the inbox (SQLite).

Prints, beside a baseline:
- matching accuracy against the labels (the baseline: exact postcode and area-name
  substrings, no typos, no accents folded);
- time per mention, matching and drafting (p50, p99; target p99 ≤ 5 ms), and the whole
  poll per mention (the stand-in's HTTP and the store included);
- time from a revision recorded to its post leaving (the stand-in receiving the POST;
  p50, p99; target ≤ 1 s), the baseline being a bare tweepy post to the same stand-in.

    .venv/bin/python bench/x.py [--mentions 1000] [--incidents 50] [--revisions 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.feed.changes import UpdateIncident  # noqa: E402
from bot.runner import Unavoz  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import open_store  # noqa: E402
from channels.x import XAdapter, mentions  # noqa: E402
from channels.x.client import XApiClient  # noqa: E402
from tests.standins.x import XStandIn  # noqa: E402

MADRID = ZoneInfo("Europe/Madrid")
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=MADRID)
SERVICES = [
    ("permits", "permisos de aparcamiento", "parking permits"),
    ("fibre", "fibra", "fibre"),
    ("water", "agua", "water supply"),
    ("buses", "autobuses", "buses"),
    ("taxes", "pago de impuestos", "tax payments"),
]
PLACES = [
    "Almendral", "Bellavista", "Cañaveral", "Dehesa", "Encinar", "Fuentecilla", "Guindalera",
    "Hontanar", "Isabelita", "Jarales", "Lavapiés", "Majadahonda", "Navalcarbón", "Olivar",
    "Peñagrande", "Quintana", "Retamar", "Salamanca", "Tetuán", "Urbanización", "Valdezarza",
    "Ventilla", "Yeserías", "Zarzaquemada", "Acacias", "Barajas", "Canillejas", "Delicias",
    "Estrecho", "Fuencarral", "Goya", "Hortaleza", "Imperial", "Jerónimos", "Legazpi",
    "Moncloa", "Numancia", "Opañel", "Pacífico", "Quevedo", "Rosales", "Sanchinarro",
    "Tirso", "Usera", "Vallecas", "Argüelles", "Berruguete", "Chopera", "Embajadores",
    "Palomeras",
]  # fmt: skip


def build_feed(incidents: int) -> str:
    lines = [
        "version: 1",
        "organization:",
        "  name: {es: Ayuntamiento de Prueba, en: Test City Council}",
        "  timezone: Europe/Madrid",
        "  locales: [es, en]",
        "  default_locale: es",
        "  status_page_url: https://estado.prueba.example/status",
        "  human_contact:",
        '    phone: "+34 910 000 010"',
        "    hours: {es: de 8:00 a 20:00, en: 8 AM to 8 PM}",
        "  apology: {es: Sentimos las molestias., en: We are sorry for the trouble.}",
        "services:",
    ]
    for sid, es, en in SERVICES:
        lines.append(f"  - {{id: {sid}, name: {{es: {es}, en: {en}}}}}")
    lines.append("areas:")
    for n in range(incidents):
        lines.append(
            f"  - {{id: area-{n}, name: {{es: {PLACES[n]}, en: {PLACES[n]}}},"
            f' postcodes: ["{28100 + n}"]}}'
        )
    lines.append("incidents:")
    for n in range(incidents):
        sid, es, en = SERVICES[n % len(SERVICES)]
        lines += [
            f"  - id: incident-{n}",
            f"    title: {{es: Fallo de {es} en {PLACES[n]}, en: {en} failure in {PLACES[n]}}}",
            f"    summary: {{es: No funciona {es}., en: {en} is down.}}",
            "    status: identified",
            f"    services: [{sid}]",
            f"    areas: [area-{n}]",
            "    started_at: 2026-11-24T08:00:00+01:00",
            f"    eta: 2026-11-24T{13 + n % 8}:{n % 4 * 15:02d}:00+01:00",
            "    next_update_by: 2026-11-24T14:30:00+01:00",
            "    workaround: {es: Use la sede electrónica., en: Use the online office.}",
        ]
    lines += ["channels:", "  x:", "    options:", "      handle: unavoz_status"]
    return "\n".join(lines) + "\n"


def fold(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]  # a letter dropped


def labelled_mentions(count: int, incidents: int, seed: int = 7) -> list[tuple[str, set[str]]]:
    """(text, the incident ids it is about) — written from templates, labelled as written."""
    rng = random.Random(seed)
    out: list[tuple[str, set[str]]] = []
    for k in range(count):
        n = rng.randrange(incidents)
        place = PLACES[n]
        _, es, en = SERVICES[n % len(SERVICES)]
        kind = k % 8
        if kind == 0:
            out.append((f"¿Qué pasa en el {28100 + n}? No me va nada 😡", {f"incident-{n}"}))
        elif kind == 1:
            out.append((f"Is anything down near {28100 + n}?", {f"incident-{n}"}))
        elif kind == 2:
            out.append((f"¿Cuándo vuelve el servicio en {place}?", {f"incident-{n}"}))
        elif kind == 3:
            out.append((f"when will {en} be back in {fold(place)}??", {f"incident-{n}"}))
        elif kind == 4:
            out.append(
                (
                    f"sin {es} en {typo(fold(place).lower(), rng)} desde esta mañana",
                    {f"incident-{n}"},
                )
            )
        elif kind == 5:
            out.append((f"@alcaldia {place} lleva horas así. ¿Hay fecha? 🙏", {f"incident-{n}"}))
        elif kind == 6:
            out.append(("gracias por nada 🙄", set()))
        else:
            out.append(("Great job today team!", set()))
    return out


def baseline_match(feed_text: str, text: str, incidents: int) -> set[str]:
    """Exact substrings only: a postcode, or an area name as written in the feed."""
    found = set()
    for n in range(incidents):
        if str(28100 + n) in text or PLACES[n] in text:
            found.add(f"incident-{n}")
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(args: argparse.Namespace) -> None:
    feed_text = build_feed(args.incidents)
    labelled = labelled_mentions(args.mentions, args.incidents)
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "status_feed.yaml"
        feed.write_text(feed_text, encoding="utf-8")
        async with XStandIn() as standin:
            standin.window_limits["POST /2/tweets"] = 10_000
            standin.posts_per_day_user = standin.posts_per_day_app = 10_000
            env = {
                **standin.credentials.environment(),
                "X_API_URL": standin.url,
                "UNAVOZ_FEED": str(feed),
                "UNAVOZ_DATABASE_URL": f"sqlite:///{tmp}/unavoz.db",
            }
            settings = Settings.from_env(env)
            async with open_store(settings.database_url) as store:
                now = NOON
                app = Unavoz.build(settings, store, clock=lambda: now)
                state = await app.service.start()
                adapter = next(a for a in app.adapters if isinstance(a, XAdapter))
                # The 50 openings in two locales alone use X's 100 posts per 15 minutes: the
                # ceiling is lifted here (the stand-in's too) to time the path, not the wait.
                adapter.limits = ()
                app.engine._windows["x"] = []
                await adapter.start()
                try:
                    await matching(state, labelled, feed_text, args)
                    await whole_poll(app, adapter, standin, labelled)
                    await revision_to_post(app, adapter, standin, args)
                finally:
                    await adapter.stop()


async def matching(
    state: object, labelled: list[tuple[str, set[str]]], feed_text: str, args: argparse.Namespace
) -> None:
    times, cpu, right = [], [], 0
    for text, label in labelled:
        started, started_cpu = time.perf_counter(), time.process_time()
        found = mentions.match(state, "@unavoz_status " + text, NOON)  # type: ignore[arg-type]
        mentions.draft(state, found, "vecina_ana", NOON)  # type: ignore[arg-type]
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        right += {i.id for i in found.incidents} == label
    base_times, base_right = [], 0
    for text, label in labelled:
        started = time.perf_counter()
        found_ids = baseline_match(feed_text, text, args.incidents)
        base_times.append(time.perf_counter() - started)
        base_right += found_ids == label
    n = len(labelled)
    about_none = sum(1 for _, label in labelled if not label)
    print(f"mentions: {n} over {args.incidents} incidents, {about_none} about none")
    print(
        f"  matching accuracy     unavoz {right / n:.3f} ({right}/{n})"
        f"    baseline (exact substrings) {base_right / n:.3f} ({base_right}/{n})"
    )
    print(
        f"  match + draft         p50 {pct(times, 0.5) * 1e3:.3f} ms"
        f"  p99 {pct(times, 0.99) * 1e3:.3f} ms (CPU p99 {pct(cpu, 0.99) * 1e3:.3f} ms;"
        f" target p99 ≤ 5 ms)    baseline p99 {pct(base_times, 0.99) * 1e3:.3f} ms"
    )


async def whole_poll(
    app: Unavoz, adapter: XAdapter, standin: XStandIn, labelled: list[tuple[str, set[str]]]
) -> None:
    for k, (text, _) in enumerate(labelled):
        standin.add_mention(f"vecino_{k % 300}", text)
    started = time.perf_counter()
    await adapter.poll(app.context.dispatcher)
    took = time.perf_counter() - started
    kept = len(await app.store.x_mentions(limit=5000))
    print(
        f"  one poll of all       {took:.2f} s for {kept} kept"
        f" ({took / max(kept, 1) * 1e3:.2f} ms a mention,"
        f" {len(standin.calls_to('GET /2/users/:id/mentions'))} pages, HTTP and store included)"
    )


async def revision_to_post(
    app: Unavoz, adapter: XAdapter, standin: XStandIn, args: argparse.Namespace
) -> None:
    stop = asyncio.Event()
    engine = asyncio.create_task(app.engine.run(stop))
    wake = app.engine.wake
    app.service.subscribe(lambda _: _wake(wake))
    await asyncio.sleep(0.5)
    for _ in range(600):  # the openings (two locales × incidents) go out first
        if len(standin.calls_to("POST /2/tweets")) >= 2 * args.incidents:
            break
        await asyncio.sleep(0.1)
    delays, applying = [], []
    for k in range(args.revisions):
        before = len(standin.calls_to("POST /2/tweets"))
        change = UpdateIncident.model_validate(
            {
                "id": f"incident-{k % args.incidents}",
                "message": {"es": f"Seguimos {k}.", "en": f"On it {k}."},
            }
        )
        started = time.monotonic()
        await app.service.apply(change, author="bench", source="cli")
        applying.append(time.monotonic() - started)
        for _ in range(1000):
            calls = standin.calls_to("POST /2/tweets")
            if len(calls) > before:
                delays.append(calls[before].at - started)
                break
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)
    stop.set()
    await engine
    base = []
    async with XApiClient(
        consumer_key=standin.credentials.consumer_key,
        consumer_secret=standin.credentials.consumer_secret,
        access_token=standin.credentials.access_token,
        access_token_secret=standin.credentials.access_token_secret,
        api_url=standin.url,
    ) as client:
        for k in range(args.revisions):
            started = time.monotonic()
            before = len(standin.calls_to("POST /2/tweets"))
            await client.create_tweet(text=f"baseline post {k}", user_auth=True)
            base.append(standin.calls_to("POST /2/tweets")[before].at - started)
    print(
        f"revision → post leaving ({len(delays)} revisions): p50 {pct(delays, 0.5) * 1e3:.1f} ms"
        f"  p99 {pct(delays, 0.99) * 1e3:.1f} ms (target ≤ 1 s), of which recording the revision"
        f" (validate, write the file, plan 2 × {args.incidents} posts) p50"
        f" {pct(applying, 0.5) * 1e3:.1f} ms    baseline (bare tweepy post):"
        f" p50 {pct(base, 0.5) * 1e3:.1f} ms  p99 {pct(base, 0.99) * 1e3:.1f} ms"
    )


async def _wake(wake: object) -> None:
    wake()  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--revisions", type=int, default=20)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
