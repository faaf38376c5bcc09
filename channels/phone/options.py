"""The phone line's options in the feed (`channels.ivr.options`) and its settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from bot.feed.models import ChannelOptions
from bot.settings import EnvSection


class PhoneOptions(ChannelOptions):
    voices: dict[str, str] = Field(
        default_factory=dict,
        description="Text-to-speech voice per locale, e.g. {es: Polly.Lucia, en: Polly.Amy}.",
    )


class PhoneSettings(EnvSection):
    account_sid: str | None = Field(None, validation_alias="TWILIO_ACCOUNT_SID")
    auth_token: SecretStr | None = Field(None, validation_alias="TWILIO_AUTH_TOKEN")
    from_number: str | None = Field(None, validation_alias="TWILIO_FROM_NUMBER")
    api_url: str | None = Field(None, validation_alias="TWILIO_API_URL")
    # Directory the phone prompt files (txt, SSML, 8 kHz WAV) are kept in, if any.
    prompts_dir: str | None = Field(None, validation_alias="UNAVOZ_PROMPTS_DIR")
