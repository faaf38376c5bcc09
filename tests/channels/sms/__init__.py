"""SMS: an example channel that exists only in the tests (the README walks through it).

It shows everything a channel may bring: a voice (renderer and templates), typed
options in the feed (`channels.sms.options.numbers`), settings from the environment
(`SMS_GATEWAY_URL`), and a delivery adapter the engine drives. Registered in a
real deployment by one line in `pyproject.toml`:
    sms = "channels.sms:SmsChannel"
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import ClassVar

from pydantic import BaseModel, Field

from bot.channel import Channel, missing, options_of
from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.model import Delivery, Limit, PermanentError
from bot.feed.models import ChannelOptions, Incident
from bot.render.renderer import ChannelRenderer
from bot.settings import EnvSection, Settings
from bot.state import FeedState


class SmsRenderer(ChannelRenderer):
    name: ClassVar[str] = "sms"
    templates_package: ClassVar[str] = "tests.channels.sms"  # templates/sms.<locale>.j2
    max_length: ClassVar[int] = 160  # one SMS
    single_line: ClassVar[bool] = True


class SmsOptions(ChannelOptions):
    numbers: list[str] = Field(default_factory=list, description="Who gets every change.")


class SmsSettings(EnvSection):
    gateway_url: str | None = Field(None, validation_alias="SMS_GATEWAY_URL")


class SmsAdapter(ChannelAdapter):
    name: ClassVar[str] = "sms"
    limits = (Limit(10, 1.0),)  # the gateway's: at most 10 messages a second

    def __init__(self, gateway_url: str) -> None:
        self.gateway_url = gateway_url
        self.sent: list[tuple[str, str]] = []  # (number, text): a real one would POST them

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        return [Target(number) for number in options_of(state.feed, "sms", SmsOptions).numbers]

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        locale = state.feed.organization.default_locale
        return json.dumps({"text": state.render("sms", incident, locale, now)})

    async def deliver(self, delivery: Delivery) -> None:
        if not delivery.target.startswith("+"):
            raise PermanentError(f"not a phone number: {delivery.target}")
        self.sent.append((delivery.target, json.loads(delivery.payload)["text"]))


class SmsChannel(Channel):
    name: ClassVar[str] = "sms"
    title: ClassVar[str] = "SMS"
    description: ClassVar[str] = "Text messages to the numbers listed."
    renderer: ClassVar[ChannelRenderer | None] = SmsRenderer()
    options_model: ClassVar[type[BaseModel]] = SmsOptions
    settings_model: ClassVar[type[EnvSection] | None] = SmsSettings

    def state(self, settings: Settings) -> str:
        return missing(settings.section(self.name, SmsSettings), "gateway_url")

    def adapter(self, settings: Settings) -> ChannelAdapter | None:
        url = settings.section(self.name, SmsSettings).gateway_url
        return SmsAdapter(url) if url else None
