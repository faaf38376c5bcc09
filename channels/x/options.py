"""The X channel's options in the feed (`channels.x.options`) and its settings (environment)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from bot.feed.models import ChannelOptions
from bot.settings import EnvSection

MIN_POLL_SECONDS = 15.0


class XOptions(ChannelOptions):
    handle: str | None = Field(None, description="The account's handle, without the @.")
    locales: list[str] = Field(
        default_factory=list,
        description="The locales X posts are made in, each incident one thread per locale"
        " (default: every locale of the organization).",
    )
    poll_seconds: float = Field(
        MIN_POLL_SECONDS,
        ge=MIN_POLL_SECONDS,
        description="Seconds between polls for mentions, at least 15; slower when the"
        " account's rate limits say so.",
    )
    auto_reply: bool = Field(
        False,
        description="Reply at once with the draft to a mention that matches exactly one open"
        " incident (at most once per person, incident and revision).",
    )
    daily_reserve: int = Field(
        3,
        ge=0,
        description="When this few posts are left of X's 24-hour limit, only incident openings,"
        " resolutions and replies a person sends go out; other updates wait for the reset.",
    )


class XSettings(EnvSection):
    bearer_token: SecretStr | None = Field(None, validation_alias="X_BEARER_TOKEN")
    consumer_key: str | None = Field(None, validation_alias="X_CONSUMER_KEY")
    consumer_secret: SecretStr | None = Field(None, validation_alias="X_CONSUMER_SECRET")
    access_token: str | None = Field(None, validation_alias="X_ACCESS_TOKEN")
    access_token_secret: SecretStr | None = Field(None, validation_alias="X_ACCESS_TOKEN_SECRET")
    api_url: str | None = Field(None, validation_alias="X_API_URL")
    # Below the feed's 15 s floor only against a stand-in (tests, demos): X's own rate-limit
    # headers still slow polling down.
    poll_seconds: float | None = Field(None, gt=0, validation_alias="X_POLL_SECONDS")
