"""In headless Chromium at a phone's width (390 px) and a desktop's (1280 px): the banner
embedded on another site — served live by `unavoz run`, readable from any origin, and
from `unavoz export-static` behind a plain static file server — and the status page.

Screenshots land in $UNAVOZ_SCREENSHOTS (default: the test's temporary directory).
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import main
from tests.channels.web.test_browser import ARGS, CHROMIUM
from tests.delivery.test_crash import Instance, free_port, write_like_an_editor

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]
WIDTHS = (390, 1280)
AREA_EN = "Permit renewal down"  # the English title of the incident in Sol


def far_ahead(text: str) -> str:
    """The ETA and next update far ahead, so the test never depends on today's date."""
    return text.replace("eta: 2026-11-24T", "eta: 2030-11-24T").replace(
        "next_update_by: 2026-11-24T", "next_update_by: 2030-11-24T"
    )


def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("UNAVOZ_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def host_site(
    script_src: str, area: str = "sol", lang: str = "en"
) -> tuple[str, web.AppRunner]:
    """Another site (its own origin) whose page embeds the banner."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(
            content_type="text/html",
            text=f"""<!doctype html><html><head><title>Host</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Ayuntamiento de Valverde</h1>
<script src="{script_src}" data-area="{area}" data-lang="{lang}"></script>
<p>Bienvenidos.</p></body></html>""",
        )

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "localhost", port).start()
    return f"http://localhost:{port}/", runner


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


async def check_banner_at_widths(browser: object, url: str, shots: Path, name: str) -> None:
    from playwright.async_api import expect

    for width in WIDTHS:
        page = await browser.new_page(viewport={"width": width, "height": 800})  # type: ignore[attr-defined]
        await page.goto(url)
        banner = page.locator("[data-unavoz] [role=status]")
        await expect(banner).to_contain_text(AREA_EN, timeout=5000)  # English, as asked
        await expect(banner).to_contain_text("Expected fix:")  # labelled, in words
        await expect(banner).to_contain_text("Next update:")
        await expect(banner).to_contain_text("Meanwhile:")
        box = await page.locator("[data-unavoz] .b").first.bounding_box()
        assert box is not None and box["width"] <= width, (width, box)
        scroll = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} at {width}px scrolls sideways ({scroll}px)"
        await page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        await page.close()


async def test_the_live_banner_shows_on_any_site_by_default(
    feed_file: Path, tmp_path: Path, browser: object
) -> None:
    """No cors_origins in the feed: the banner is public, any site may embed it."""
    write_like_an_editor(feed_file, far_ahead(feed_file.read_text(encoding="utf-8")))
    unavoz = Instance(feed_file, f"sqlite:///{tmp_path}/w.db", free_port(), tmp_path / "w.log")
    await unavoz.wait_up()
    url, runner = await host_site(f"http://127.0.0.1:{unavoz.port}/banner.js")
    try:
        await check_banner_at_widths(browser, url, screenshots(tmp_path), "banner-live")
    finally:
        await runner.cleanup()
        assert unavoz.stop() == 0


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """A plain static file server (it ignores query strings), as a CDN configured to let
    any site read public files (Access-Control-Allow-Origin: *)."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    directory = tmp_path / "public"
    directory.mkdir()
    handler = functools.partial(_StaticHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", directory
    finally:
        server.shutdown()
        server.server_close()


async def test_the_exported_banner_reads_the_exported_area_and_language_files(
    feed_file: Path,
    tmp_path: Path,
    browser: object,
    static_server: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    origin, directory = static_server
    feed_file.write_text(far_ahead(feed_file.read_text(encoding="utf-8")), encoding="utf-8")
    monkeypatch.setenv("UNAVOZ_NOW", "2026-11-24T12:00:00+01:00")
    assert (
        await asyncio.to_thread(main, ["export-static", str(directory), "--feed", str(feed_file)])
        == 0
    )
    assert (directory / "banner" / "sol.en.json").exists()
    url, runner = await host_site(f"{origin}/banner.js", area="sol", lang="en")
    try:
        await check_banner_at_widths(browser, url, screenshots(tmp_path), "banner-static")
        # A language the export does not have: the area's file in the default language.
        other, other_runner = await host_site(f"{origin}/banner.js", area="norte", lang="fr")
        try:
            page = await browser.new_page()  # type: ignore[attr-defined]
            await page.goto(other)
            from playwright.async_api import expect

            banner = page.locator("[data-unavoz] [role=status]")
            await expect(banner).to_contain_text("Mantenimiento de la red de fibra", timeout=5000)
            assert AREA_EN not in await banner.inner_text()
        finally:
            await other_runner.cleanup()
    finally:
        await runner.cleanup()


async def test_the_status_page_reads_well_at_a_phone_and_a_desktop_width(
    feed_file: Path, tmp_path: Path, browser: object
) -> None:
    write_like_an_editor(feed_file, far_ahead(feed_file.read_text(encoding="utf-8")))
    unavoz = Instance(feed_file, f"sqlite:///{tmp_path}/s.db", free_port(), tmp_path / "s.log")
    await unavoz.wait_up()
    shots = screenshots(tmp_path)
    try:
        for lang in ("en", "es"):
            for width in WIDTHS:
                page = await browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
                await page.goto(f"http://127.0.0.1:{unavoz.port}/status?lang={lang}")
                # Every value gets at least half the page's width: never a word per line.
                widths = await page.locator("#permits-down dd").evaluate_all(
                    "els => els.map(e => e.getBoundingClientRect().width)"
                )
                body = await page.evaluate("document.body.clientWidth")
                assert widths and min(widths) >= body * 0.5, (lang, width, widths, body)
                scroll = await page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, (lang, width, scroll)
                # The language links are words apart, never run together ("ESEN").
                items = await page.locator("nav li").evaluate_all(
                    "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().left,"
                    " e.getBoundingClientRect().right])"
                )
                assert [name for name, *_ in items] == ["Español", "English"]
                assert items[1][1] - items[0][2] >= 8, items
                await page.screenshot(
                    path=str(shots / f"status-{lang}-{width}.png"), full_page=True
                )
                await page.close()
    finally:
        assert unavoz.stop() == 0
