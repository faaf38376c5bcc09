"""Webhooks: every change of an incident POSTed as signed JSON to the URLs the feed lists.

For integrations (a city's intranet, a partner's status page, a chat bridge) and
the stand-in every delivery test uses. Each request carries `Idempotency-Key`
(the same on every retry of one delivery) and, with `UNAVOZ_WEBHOOK_SECRET`
set, `X-Unavoz-Signature: sha256=<HMAC of the body>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
from pydantic import BaseModel, Field, SecretStr
from yarl import URL

from bot.channel import Channel, options_of
from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.model import Delivery, Limit, PermanentError, RetryLater, TransientError
from bot.feed.models import ChannelOptions, Incident
from bot.settings import EnvSection, Settings, secret

if TYPE_CHECKING:
    from bot.state import FeedState

USER_AGENT = "Unavoz-Webhook/1"


@lru_cache(maxsize=65536)
def _url(target: str) -> URL:
    """A target's URL, parsed once: a fan-out posts to the same few URLs again and again,
    and parsing one is a few µs (yarl's own cache holds fewer than a fan-out's targets)."""
    url = URL(target)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("a webhook is posted to an http:// or https:// address")
    return url


def retry_after(headers: Any, body: Any, default: float) -> float:
    """Seconds to wait from a `Retry-After` header or a Telegram-style JSON body."""
    value = headers.get("Retry-After") if headers is not None else None
    if isinstance(body, dict):
        parameters = body.get("parameters")
        value = body.get("retry_after", value)
        if isinstance(parameters, dict):
            value = parameters.get("retry_after", value)
    try:
        return max(0.0, float(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


class WebhookOptions(ChannelOptions):
    urls: list[str] = Field(
        default_factory=list, description="The URLs every change is POSTed to (http or https)."
    )


class WebhookSettings(EnvSection):
    # Signs each request (X-Unavoz-Signature: sha256=<HMAC of the body>).
    secret: SecretStr | None = Field(None, validation_alias="UNAVOZ_WEBHOOK_SECRET")
    # "COUNT/SECONDS", e.g. "50/1": a ceiling for webhooks (the receivers' own limit).
    rate: str | None = Field(None, validation_alias="UNAVOZ_WEBHOOK_RATE")


class WebhookChannel(Channel):
    name: ClassVar[str] = "webhook"
    title: ClassVar[str] = "webhooks"
    description: ClassVar[str] = "Integrations: every change POSTed as signed JSON."
    options_model: ClassVar[type[BaseModel]] = WebhookOptions
    settings_model: ClassVar[type[EnvSection] | None] = WebhookSettings

    def adapter(self, settings: Settings) -> ChannelAdapter | None:
        webhook = settings.section(self.name, WebhookSettings)
        return WebhookAdapter(secret=secret(webhook.secret), limits=Limit.parse(webhook.rate))


class WebhookAdapter(ChannelAdapter):
    name: ClassVar[str] = "webhook"
    concurrency: ClassVar[int] = 64
    batch: ClassVar[int] = 512

    def __init__(
        self,
        *,
        secret: str | None = None,
        timeout: float = 10.0,
        limits: Sequence[Limit] = (),
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.secret = secret
        # Keyed once; each signature starts from a copy.
        self._signer = (
            hmac.new(self.secret.encode(), digestmod=hashlib.sha256) if self.secret else None
        )
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.limits = tuple(limits)  # set per deployment (UNAVOZ_WEBHOOK_RATE)
        self._session = session
        self._own_session = session is None

    # What and to whom (pure) -------------------------------------------------------------

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        urls = options_of(state.feed, "webhook", WebhookOptions).urls
        return [Target(id=url) for url in urls]

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        feed = state.feed
        default = state.statement(incident.id)
        body = {
            "incident": incident.id,
            "kind": incident.kind.value,
            "status": incident.status.value,
            "severity": incident.severity.value,
            "services": list(incident.services),
            "areas": list(incident.areas),
            "started_at": incident.started_at.isoformat(),
            "eta": incident.eta.isoformat() if incident.eta else None,
            "next_update_by": (
                incident.next_update_by.isoformat() if incident.next_update_by else None
            ),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "fingerprint": default.facts_fingerprint(),
            "url": default.url,
            "text": {
                locale: state.render("customer", incident, locale, now)
                for locale in feed.organization.locales
            },
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True)

    # How (I/O) ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": USER_AGENT}
            )

    async def stop(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def headers(self, delivery: Delivery, body: bytes) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.idempotency_key,
            "X-Unavoz-Revision": str(delivery.revision),
            "X-Unavoz-Incident": delivery.incident_id,
        }
        if self._signer is not None:
            signer = self._signer.copy()
            signer.update(body)
            headers["X-Unavoz-Signature"] = f"sha256={signer.hexdigest()}"
        return headers

    async def deliver(self, delivery: Delivery) -> None:
        if self._session is None:
            raise RuntimeError("the webhook channel is not started")
        body = delivery.payload.encode("utf-8")
        try:
            url = _url(delivery.target)
        except ValueError as exc:
            raise PermanentError(f"not a URL: {delivery.target!r} ({exc})") from exc
        try:
            async with self._session.post(
                url, data=body, headers=self.headers(delivery, body)
            ) as response:
                if response.status < 300:
                    return
                answer = await _json(response)
                if response.status == 429:
                    raise RetryLater(retry_after(response.headers, answer, 1.0))
                if response.status >= 500 or response.status == 408:
                    raise TransientError(f"HTTP {response.status} from {delivery.target}")
                raise PermanentError(f"HTTP {response.status} from {delivery.target}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return None
