"""A new channel is one folder and one registry line: the example SMS channel, end to end."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.engine import DeliveryEngine
from bot.delivery.plan import Planner
from bot.feed.loader import parse_feed
from bot.feed.yamlsource import FeedError
from bot.registry import Registry, default_registry
from bot.runner import announce_channels, build_adapters
from bot.service import FeedService
from bot.settings import Settings
from bot.store import Store, open_store
from tests.channels.sms import SmsAdapter, SmsChannel, SmsOptions
from tests.conftest import NOON

REGISTRY: Registry = default_registry().with_channels(SmsChannel())
NUMBERS = "channels:\n  sms:\n    options:\n      numbers: ['+34600000001', '+34600000002']\n"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as opened:
        yield opened


def test_the_core_imports_no_channel() -> None:
    code = (
        "import sys, bot, bot.cli, bot.runner, bot.http.app\n"
        "print(any(m.startswith('channels') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_its_options_are_typed_and_a_typo_names_file_and_line(small_text: str) -> None:
    feed = parse_feed(small_text + NUMBERS, "feed.yaml", REGISTRY).feed
    options = feed.channels.get("sms").options
    assert isinstance(options, SmsOptions)
    assert options.numbers == ["+34600000001", "+34600000002"]
    typo = small_text + NUMBERS.replace("numbers:", "number:")
    with pytest.raises(FeedError) as caught:
        parse_feed(typo, "feed.yaml", REGISTRY)
    assert any(
        p.message == "unknown key 'number' in channels.sms.options" and p.line > 1
        for p in caught.value.problems
    )
    with pytest.raises(FeedError):  # without the channel registered, `sms` is unknown
        parse_feed(small_text + NUMBERS, "feed.yaml")


def test_its_settings_come_from_the_environment_and_say_when_it_is_off() -> None:
    off = Settings.from_env({}, REGISTRY)
    assert "SMS: off (SMS_GATEWAY_URL not set)" in announce_channels(off, REGISTRY)
    assert not any(isinstance(a, SmsAdapter) for a in build_adapters(off, REGISTRY))
    on = Settings.from_env({"SMS_GATEWAY_URL": "http://127.0.0.1:9/sms"}, REGISTRY)
    assert "SMS: on" in announce_channels(on, REGISTRY)
    assert any(isinstance(a, SmsAdapter) for a in build_adapters(on, REGISTRY))


async def test_every_number_hears_each_open_incident_once_in_its_own_voice(
    feed_file: Path, store: Store
) -> None:
    feed_file.write_text(feed_file.read_text("utf-8") + NUMBERS, "utf-8")
    adapter = SmsAdapter("http://127.0.0.1:9/sms")
    service = FeedService(
        feed_file,
        store,
        clock=lambda: NOON,
        planner=Planner([adapter], lambda: NOON),
        registry=REGISTRY,
    )
    state = await service.start()
    engine = DeliveryEngine(store, [adapter], poll=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    for _ in range(200):
        if not (await store.delivery_counts()).get("pending"):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    open_incidents = [i for i in state.feed.incidents if i.is_open]
    assert len(adapter.sent) == 2 * len(open_incidents)
    texts = {text for _, text in adapter.sent}
    assert all(len(text) <= 160 for text in texts)
    assert state.render("sms", open_incidents[0], "es", NOON) in texts
    assert "sms" in state.renderers and "sms" not in default_registry().renderers
