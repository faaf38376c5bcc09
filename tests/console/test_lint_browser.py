"""The console's reply box in headless Chromium: findings highlighted as one types, and
what one types shown as text, never run."""

from __future__ import annotations

import asyncio

from tests.channels.web.test_browser import TOKEN, browser, pytestmark, served
from tests.delivery.test_crash import Instance

__all__ = ["browser", "pytestmark", "served"]  # the fixtures and marks this module shares


async def test_the_reply_box_highlights_as_one_types(
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
    await page.goto(f"{origin}/console")
    await page.fill("input[name=token]", TOKEN)
    await page.click("button[type=submit]")
    await page.select_option("#lint-incident", "permits-down")
    hostile = "<img src=x onerror=alert(1)>"
    await page.locator("#lint-text").press_sequentially(f"{hostile} Ya está solucionado 👍")
    mark = page.locator("#lint-view mark.blocks")
    await expect(mark).to_have_text("Ya está solucionado", timeout=5000)
    await expect(page.locator("#lint-verdict")).to_contain_text("Blocked")
    await expect(page.locator("#lint-findings li")).to_contain_text("resolved")
    await expect(page.locator("#lint-view")).to_contain_text(hostile)  # as text
    assert await page.locator("#lint-view img").count() == 0
    await page.fill("#lint-text", "Lo sentimos, seguimos trabajando en ello")
    await expect(page.locator("#lint-verdict")).to_have_text("OK to send", timeout=5000)
    assert await page.locator("#lint-view mark").count() == 0
    assert dialogs == []
