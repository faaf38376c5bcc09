"""Telegram: alerts for field staff in their groups, and the bot customers message."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from bot.channel import Channel, missing
from bot.delivery.model import Limit
from bot.render.renderer import ChannelRenderer
from bot.settings import EnvSection, Settings
from channels.telegram.customer import CustomerRenderer
from channels.telegram.staff import StaffRenderer

# Telegram's own limits, which its adapters hand to the engine to enforce (a target's own
# limit for chats): 30 messages a second per bot, 20 a minute per group, 1 a second per chat.
BOT_LIMIT = Limit(30, 1.0)
GROUP_LIMIT = Limit(20, 60.0)
CHAT_LIMIT = Limit(1, 1.0)


class TelegramSettings(EnvSection):
    staff_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_STAFF_TOKEN")
    customer_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_CUSTOMER_TOKEN")
    # The Bot API's base: requests go to {api_url}/bot{token}/{method}.
    api_url: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_URL")
    webhook_url: str | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_URL")


class StaffChannel(Channel):
    name: ClassVar[str] = "staff"
    title: ClassVar[str] = "staff alerts (Telegram)"
    description: ClassVar[str] = "Alerts to the staff groups' Telegram chats."
    renderer: ClassVar[ChannelRenderer | None] = StaffRenderer()
    settings_model: ClassVar[type[EnvSection] | None] = TelegramSettings

    def state(self, settings: Settings) -> str:
        found = missing(settings.section(self.name, TelegramSettings), "staff_token")
        return found if found != "on" else "credentials found; no delivery adapter yet"


class CustomerChannel(Channel):
    name: ClassVar[str] = "customer"
    title: ClassVar[str] = "customer bot (Telegram)"
    description: ClassVar[str] = "The Telegram bot customers ask."
    renderer: ClassVar[ChannelRenderer | None] = CustomerRenderer()
    settings_model: ClassVar[type[EnvSection] | None] = TelegramSettings

    def state(self, settings: Settings) -> str:
        found = missing(settings.section(self.name, TelegramSettings), "customer_token")
        return found if found != "on" else "credentials found; no delivery adapter yet"


__all__ = ["CustomerChannel", "StaffChannel", "TelegramSettings"]
