"""The phone line: the IVR dialogue (TwiML, VoiceXML), its prompt files, and callbacks."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel

from bot.channel import Channel, ChannelContext, missing
from bot.delivery.adapter import ChannelAdapter
from bot.render.renderer import ChannelRenderer
from bot.scheduler import Scheduler
from bot.settings import EnvSection, Settings, secret
from bot.state import FeedState
from channels.phone import routes
from channels.phone.callbacks import PhoneCallbacks, queue_due
from channels.phone.options import PhoneOptions, PhoneSettings
from channels.phone.prompts import write_prompts
from channels.phone.renderer import IvrRenderer

PROMPTS_EVERY = 60.0  # seconds between rewrites of the prompt files without a new revision
CALLBACK_CHECK_EVERY = 30.0  # seconds between checks for ETAs that passed


class PhoneChannel(Channel):
    name: ClassVar[str] = "ivr"
    title: ClassVar[str] = "phone line (IVR)"
    description: ClassVar[str] = "The phone line: what callers hear, and callbacks."
    renderer: ClassVar[ChannelRenderer | None] = IvrRenderer()
    options_model: ClassVar[type[BaseModel]] = PhoneOptions
    settings_model: ClassVar[type[EnvSection] | None] = PhoneSettings

    def _settings(self, settings: Settings) -> PhoneSettings:
        return settings.section(self.name, PhoneSettings)

    def state(self, settings: Settings) -> str:
        callbacks = missing(self._settings(settings), "account_sid", "auth_token", "from_number")
        return f"on; callbacks {callbacks}"

    def adapter(self, settings: Settings) -> ChannelAdapter | None:
        phone = self._settings(settings)
        token = secret(phone.auth_token)
        if not (phone.account_sid and token and phone.from_number):
            return None
        return PhoneCallbacks(
            account_sid=phone.account_sid,
            auth_token=token,
            from_number=phone.from_number,
            api_url=phone.api_url,
        )

    def setup_http(self, app: web.Application, context: ChannelContext) -> None:
        phone = self._settings(context.settings)
        signing = routes.Signing(secret(phone.auth_token), context.settings.public_url)
        calls_back = any(isinstance(a, PhoneCallbacks) for a in context.adapters)
        routes.setup(app, signing, callbacks=calls_back)

    def setup(self, context: ChannelContext, scheduler: Scheduler) -> None:
        service = context.service
        prompts = self._settings(context.settings).prompts_dir
        if prompts:
            directory = prompts

            async def write() -> None:
                if service.has_state:
                    await asyncio.to_thread(
                        write_prompts, service.state, directory, service.clock()
                    )

            scheduler.every(PROMPTS_EVERY, write, id="phone-prompts", leader_only=False)

            async def rewrite(_: FeedState) -> None:
                scheduler.run_soon("phone-prompts")

            service.subscribe(rewrite)
        if any(isinstance(a, PhoneCallbacks) for a in context.adapters):
            # An ETA passes without a revision: its callers are owed their call all the same.
            async def call_back() -> None:
                if service.has_state and await queue_due(
                    context.store, service.state, service.clock()
                ):
                    context.wake()

            scheduler.every(CALLBACK_CHECK_EVERY, call_back, id="phone-callbacks")

            async def on_revision(_: FeedState) -> None:
                scheduler.run_soon("phone-callbacks")

            service.subscribe(on_revision)
