"""Settings from the environment. Secrets live only here, never in the feed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    feed: str = "status_feed.yaml"
    database_url: str = "sqlite:///unavoz.db"
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # "COUNT/SECONDS", e.g. "50/1": a ceiling for webhooks (the receivers' own limit).
    webhook_rate: str | None = None
    # Directory `unavoz run` keeps the static web export in (rewritten on every revision).
    export_static: str | None = None
    # Directory the phone prompt files (txt, SSML, 8 kHz WAV) are kept in, if any.
    prompts_dir: str | None = None
    # Pretend it is this time (ISO 8601, "14:30", "+2h"): the clock starts there and runs on.
    now: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            feed=env.get("UNAVOZ_FEED") or default.feed,
            database_url=env.get("UNAVOZ_DATABASE_URL") or default.database_url,
            admin_token=env.get("UNAVOZ_ADMIN_TOKEN") or None,
            host=env.get("UNAVOZ_HOST") or default.host,
            port=int(env.get("UNAVOZ_PORT") or default.port),
            webhook_rate=env.get("UNAVOZ_WEBHOOK_RATE") or None,
            export_static=env.get("UNAVOZ_EXPORT_STATIC") or None,
            prompts_dir=env.get("UNAVOZ_PROMPTS_DIR") or None,
            now=env.get("UNAVOZ_NOW") or None,
        )

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))
