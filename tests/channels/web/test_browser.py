"""In headless Chromium (Debian's, driven by Playwright): the banner on another site, live;
the status page and the console; a hostile title shown as text and never run."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import HOSTILE
from tests.delivery.test_crash import Instance, free_port, write_like_an_editor
from tests.environment import CHROMIUM

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]
TOKEN = "browser-token"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def feed_with(text: str, host_origin: str, eta: str = "18:00") -> str:
    text = text.replace(
        "title: {es: Renovación de permisos caída, en: Permit renewal down}",
        f"title: {{es: '{HOSTILE}', en: '{HOSTILE}'}}",
    ).replace("eta: 2026-11-24T18:00:00+01:00", f"eta: 2026-11-24T{eta}:00+01:00")
    # The ETA and next update are far ahead, so the test never depends on today's date.
    text = text.replace("eta: 2026-11-24T", "eta: 2030-11-24T").replace(
        "next_update_by: 2026-11-24T", "next_update_by: 2030-11-24T"
    )
    return text + f'channels:\n  web:\n    options:\n      cors_origins: ["{host_origin}"]\n'


@pytest.fixture
async def served(feed_file: Path, tmp_path: Path) -> AsyncIterator[tuple[Instance, str, str]]:
    host_port = free_port()
    host_origin = f"http://localhost:{host_port}"
    base = feed_file.read_text(encoding="utf-8")
    write_like_an_editor(feed_file, feed_with(base, host_origin))
    os.environ["UNAVOZ_ADMIN_TOKEN"] = TOKEN
    try:
        unavoz = Instance(feed_file, f"sqlite:///{tmp_path}/b.db", free_port(), tmp_path / "b.log")
    finally:
        del os.environ["UNAVOZ_ADMIN_TOKEN"]
    await unavoz.wait_up()
    origin = f"http://127.0.0.1:{unavoz.port}"

    async def host_page(_: web.Request) -> web.Response:
        # A host page with CSS that would wreck an unprotected banner.
        return web.Response(
            content_type="text/html",
            text=f"""<!doctype html><html><head><title>Host</title>
<style>div, p, button {{ color: transparent !important; font-size: 1px !important; }}</style>
</head><body><h1>Ayuntamiento</h1>
<script src="{origin}/banner.js" data-area="sol" data-lang="en"></script>
</body></html>""",
        )

    app = web.Application()
    app.router.add_get("/", host_page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "localhost", host_port).start()
    try:
        yield unavoz, origin, f"{host_origin}/"
    finally:
        await runner.cleanup()
        assert unavoz.stop() == 0


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


async def test_banner_on_another_site_updates_live_and_never_runs_a_title(
    served: tuple[Instance, str, str], browser: object, feed_file: Path
) -> None:
    from playwright.async_api import expect

    _, _, host_url = served
    page = await browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    page.on(
        "dialog",
        lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())),
    )
    await page.goto(host_url)
    banner = page.locator("[data-unavoz] [role=status]")
    await expect(banner).to_contain_text(HOSTILE, timeout=5000)  # shown as text
    await expect(banner).to_contain_text("at 6:00 PM")
    assert await banner.get_attribute("aria-live") == "polite"
    # Shadow DOM: the host page's CSS does not reach the banner's text.
    color = await page.locator("[data-unavoz] .t").evaluate("e => getComputedStyle(e).color")
    assert color != "rgba(0, 0, 0, 0)"
    # An edit of the feed reaches the open page within 2 seconds, without a reload.
    text = feed_file.read_text(encoding="utf-8")
    write_like_an_editor(feed_file, text.replace("T18:00:00+01:00", "T16:30:00+01:00"))
    await expect(banner).to_contain_text("at 4:30 PM", timeout=2000)
    # Dismissed, it stays away until the facts change again.
    await page.locator("[data-unavoz] button.x").click()
    await expect(page.locator("[data-unavoz] .b")).to_have_count(0)
    await page.reload()
    await expect(page.locator("[data-unavoz]")).to_have_attribute("data-revision", "2")
    await expect(page.locator("[data-unavoz] .b")).to_have_count(0)
    text = feed_file.read_text(encoding="utf-8")
    write_like_an_editor(feed_file, text.replace("T16:30:00+01:00", "T17:15:00+01:00"))
    await expect(banner).to_contain_text("at 5:15 PM", timeout=2000)
    assert dialogs == []
    assert await page.evaluate("typeof window.alert") == "function"


async def test_status_page_and_console_work_in_a_browser(
    served: tuple[Instance, str, str], browser: object
) -> None:
    from playwright.async_api import expect

    _, origin, _ = served
    page = await browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    page.on(
        "dialog",
        lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())),
    )
    await page.goto(f"{origin}/status?lang=en")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Service status")
    await expect(page.locator("#permits-down h3")).to_contain_text(HOSTILE)
    await page.fill("#postcode", "28014")
    await page.click("button[type=submit]")
    await expect(page.locator("#search-results")).to_contain_text("Incidents affecting 28014")
    await page.click("a[hreflang=es]")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Estado del servicio")

    await page.goto(f"{origin}/console")
    await page.fill("input[name=token]", TOKEN)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("revision 1")
    await expect(page.locator("#permits-down")).to_contain_text(HOSTILE)
    form = page.locator("form[action='/console/incidents/permits-down/update']")
    await form.locator("select[name=status]").select_option("monitoring")
    await form.locator("textarea[name=message_es]").fill("Arreglo aplicado.")
    await form.locator("textarea[name=message_en]").fill("Fix applied.")
    await form.locator("button[type=submit]").click()
    errors = page.locator(".errors")
    assert await errors.count() == 0, await errors.all_inner_texts()
    await expect(page.locator("h1")).to_contain_text("revision 2")
    await expect(page.locator("#permits-down h3")).to_contain_text("monitoring")
    assert dialogs == []
