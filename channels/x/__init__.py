"""X (Twitter): public posts, threads and replies, at most 280 characters as X counts them."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field, SecretStr

from bot.channel import Channel, missing
from bot.feed.models import ChannelOptions
from bot.render.renderer import ChannelRenderer
from bot.settings import EnvSection, Settings
from channels.x.renderer import XRenderer


class XOptions(ChannelOptions):
    handle: str | None = Field(None, description="The account's handle, without the @.")


class XSettings(EnvSection):
    bearer_token: SecretStr | None = Field(None, validation_alias="X_BEARER_TOKEN")
    consumer_key: str | None = Field(None, validation_alias="X_CONSUMER_KEY")
    consumer_secret: SecretStr | None = Field(None, validation_alias="X_CONSUMER_SECRET")
    access_token: str | None = Field(None, validation_alias="X_ACCESS_TOKEN")
    access_token_secret: SecretStr | None = Field(None, validation_alias="X_ACCESS_TOKEN_SECRET")
    api_url: str | None = Field(None, validation_alias="X_API_URL")


class XChannel(Channel):
    name: ClassVar[str] = "x"
    title: ClassVar[str] = "X"
    description: ClassVar[str] = "Posts and replies on X."
    renderer: ClassVar[ChannelRenderer | None] = XRenderer()
    options_model: ClassVar[type[BaseModel]] = XOptions
    settings_model: ClassVar[type[EnvSection] | None] = XSettings

    def state(self, settings: Settings) -> str:
        found = missing(
            settings.section(self.name, XSettings),
            "consumer_key",
            "consumer_secret",
            "access_token",
            "access_token_secret",
        )
        return found if found != "on" else "credentials found; no delivery adapter yet"
