"""Callers who pressed 1 are called back exactly once — also across a restart — via Twilio."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.delivery.engine import Backoff, DeliveryEngine
from bot.feed.changes import ResolveIncident
from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings
from bot.store import Store, open_store
from channels.phone import PhoneChannel
from channels.phone.callbacks import PhoneCallbacks, queue_due
from tests.channels.phone.test_ivr import AUTH_TOKEN, Call
from tests.conftest import NOON
from tests.standins.twilio import TwilioStandIn

pytestmark = pytest.mark.timeout(60)
CALLER = "+34600000000"


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    server = await TwilioStandIn(auth_token=AUTH_TOKEN).start()
    yield server
    await server.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as opened:
        yield opened


def channel_for(twilio: TwilioStandIn) -> PhoneCallbacks:
    return PhoneCallbacks(
        account_sid=twilio.account_sid,
        auth_token=twilio.auth_token,
        from_number="+34910000010",
        api_url=twilio.url,
    )


async def drain(store: Store, channel: PhoneCallbacks) -> None:
    engine = DeliveryEngine(store, [channel], backoff=Backoff(0.05, 0.2), poll=0.05)
    stop = asyncio.Event()
    async with channel:
        task = asyncio.create_task(engine.run(stop))
        for _ in range(400):
            counts = await store.delivery_counts()
            if not counts.get("pending") and not counts.get("sending"):
                break
            await asyncio.sleep(0.025)
        stop.set()
        await task


async def subscribe(service: FeedService, twilio: TwilioStandIn) -> None:
    """A caller keys in 28014 and presses 1, through the signed phone dialogue."""
    settings = Settings.from_env({"TWILIO_AUTH_TOKEN": AUTH_TOKEN})
    app = create_app(service, settings, adapters=[channel_for(twilio)])
    async with TestClient(TestServer(app)) as client:
        call = Call(client)
        action, _ = await call.step("/ivr/menu?lang=es", digits="28014")
        assert "Para que le llamemos cuando se resuelva, pulse uno." in call.said
        assert action is not None
        await call.step(action, digits="1")
        assert call.hung_up and call.said[-2].startswith("Le llamaremos cuando se resuelva")


async def test_a_caller_is_called_back_once_when_it_is_fixed(
    feed_file: Path, store: Store, twilio: TwilioStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = FeedService(feed_file, store, clock=lambda: NOON)
    await service.start()
    await subscribe(service, twilio)
    await subscribe(service, twilio)  # pressing 1 twice subscribes once
    assert await queue_due(store, service.state, NOON) == 0  # not fixed yet, ETA ahead
    state = await service.apply(
        ResolveIncident(id="permits-down", message={"es": "Arreglado.", "en": "Fixed."}),
        author="ana",
        source="cli",
    )
    assert await queue_due(store, state, NOON) == 1
    assert await queue_due(store, state, NOON) == 0  # however often it runs
    twilio.fail_first = 1  # the first attempt meets a Twilio 500 and is retried
    await drain(store, channel_for(twilio))
    assert [(c.to, c.from_) for c in twilio.calls] == [(CALLER, "+34910000010")]
    said = " ".join(s.text or "" for s in ET.fromstring(twilio.calls[0].twiml).iter("Say"))
    assert "resuelto" in said and "Arreglado." in said


async def test_a_passed_eta_calls_back_once_and_a_restart_does_not_repeat(
    feed_file: Path,
    store: Store,
    twilio: TwilioStandIn,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    service = FeedService(feed_file, store, clock=lambda: NOON)
    await service.start()
    await subscribe(service, twilio)
    evening = NOON.replace(hour=19)  # past the 18:00 ETA, still not resolved
    assert await queue_due(store, service.state, evening) == 1
    # The process stops with the call queued but unsent; a new one starts on the same store.
    async with open_store(f"sqlite:///{tmp_path}/unavoz.db") as restarted:
        again = FeedService(feed_file, restarted, clock=lambda: evening)
        state = await again.start()
        assert await queue_due(restarted, state, evening) == 0
        await drain(restarted, channel_for(twilio))
        await drain(restarted, channel_for(twilio))
    assert len(twilio.calls) == 1 and twilio.calls[0].to == CALLER
    said = " ".join(s.text or "" for s in ET.fromstring(twilio.calls[0].twiml).iter("Say"))
    assert "ya pasó" in said  # the passed ETA is said honestly


async def test_without_twilio_credentials_nobody_is_offered_a_callback(
    feed_file: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env({})
    assert PhoneChannel().adapter(settings) is None
    service = FeedService(feed_file, store, clock=lambda: NOON)
    await service.start()
    async with TestClient(TestServer(create_app(service, settings))) as client:  # unsigned
        response = await client.post("/ivr/menu?lang=es", data={"Digits": "28014"})
        body = await response.text()
    assert response.status == 200 and "pulse uno" not in body
