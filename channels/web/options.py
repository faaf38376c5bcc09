"""The web channel's options in the feed (`channels.web.options`) and its settings."""

from __future__ import annotations

from pydantic import Field

from bot.feed.models import ChannelOptions
from bot.settings import EnvSection


class WebOptions(ChannelOptions):
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins (https://www.example.org) whose pages may read the public JSON.",
    )


class WebSettings(EnvSection):
    # Directory `unavoz run` keeps the static web export in (rewritten on every revision).
    export_static: str | None = Field(None, validation_alias="UNAVOZ_EXPORT_STATIC")
