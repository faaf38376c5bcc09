"""Settings from the environment: the one place that reads it. Secrets live here, never in the feed.

`Settings.from_env()` reads the core's variables (`UNAVOZ_*`) and one section per
channel, each declared by its channel (`Channel.settings_model`) with the variable
names it answers to, e.g. `TELEGRAM_STAFF_TOKEN`. An empty variable counts as unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

if TYPE_CHECKING:
    from bot.registry import Registry


class EnvSection(BaseModel):
    """A group of settings read from environment variables (each field's alias)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Any:
        names = {field.validation_alias for field in cls.model_fields.values()}
        return cls.model_validate({k: v for k, v in environ.items() if k in names})


SectionT = TypeVar("SectionT", bound=EnvSection)


class Settings(EnvSection):
    feed: str = Field("status_feed.yaml", validation_alias="UNAVOZ_FEED")
    database_url: str = Field("sqlite:///unavoz.db", validation_alias="UNAVOZ_DATABASE_URL")
    admin_token: str | None = Field(None, validation_alias="UNAVOZ_ADMIN_TOKEN")
    host: str = Field("127.0.0.1", validation_alias="UNAVOZ_HOST")
    port: int = Field(8080, validation_alias="UNAVOZ_PORT")
    # Pretend it is this time (ISO 8601, "14:30", "+2h"): the clock starts there and runs on.
    now: str | None = Field(None, validation_alias="UNAVOZ_NOW")
    # Who a CLI change is recorded as (default: the login name).
    author: str | None = Field(None, validation_alias="UNAVOZ_AUTHOR")
    log_level: str = Field("INFO", validation_alias="UNAVOZ_LOG_LEVEL")
    # The public base URL (e.g. https://estado.almenara.example), when a proxy changes it.
    public_url: str | None = Field(None, validation_alias="UNAVOZ_PUBLIC_URL")
    # Each channel's own section, by channel name (see `Channel.settings_model`).
    channels: dict[str, EnvSection] = Field(default_factory=dict, exclude=True)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, registry: Registry | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        if registry is None:
            from bot.registry import default_registry  # the channels are known at start

            registry = default_registry()
        core: Settings = super().from_env(env)
        sections = {
            channel.name: channel.settings_model.from_env(env)
            for channel in registry.channels
            if channel.settings_model is not None
        }
        return core.model_copy(update={"channels": sections})

    def section(self, name: str, model: type[SectionT]) -> SectionT:
        """Channel `name`'s settings (its defaults when the environment sets none)."""
        section = self.channels.get(name)
        if section is None:
            return model()
        if not isinstance(section, model):
            raise TypeError(f"the {name} settings are a {type(section).__name__}")
        return section

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
