"""Call back the callers who pressed 1: once, when their incident is resolved or its ETA passes.

A caller who presses 1 subscribes (channel `phone`, address their number) to their
postcode, asking about the incidents found there; each is owed one call per incident.
The calls go through the delivery engine like any other message (the `phone`
channel: retried, rate-limited, exactly once per caller) and out through Twilio's
REST API with Twilio's own client — pointed at `TWILIO_API_URL` when set (a local
stand-in in the tests).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.model import (
    Delivery,
    Limit,
    NewDelivery,
    PermanentError,
    RetryLater,
    TransientError,
)
from bot.feed.models import Incident, Status
from bot.store import Place, Subscription, SubscriptionStore
from channels.phone.dialogue import Step, _voice
from channels.phone.markup import to_twiml

if TYPE_CHECKING:
    from bot.state import FeedState

TWILIO_API = "https://api.twilio.com"


class _RoutedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's async HTTP client, sending to `base_url` instead of api.twilio.com."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the signature Twilio's client calls
        allow_redirects: bool = False,
    ) -> Any:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        if auth is not None:
            # The same Basic credentials, as a header: aiohttp deprecates its BasicAuth object.
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(
            method, url, params, data, headers, None, timeout, allow_redirects
        )


def due(state: FeedState, now: dt.datetime) -> list[str]:
    """Incidents whose callers are owed a call: resolved, or past their ETA unresolved."""
    return [
        incident.id
        for incident in state.feed.incidents
        if incident.status is Status.RESOLVED or (incident.eta is not None and incident.eta <= now)
    ]


def call_for(
    state: FeedState, incident_id: str, now: dt.datetime, caller: Subscription
) -> NewDelivery:
    """The call a caller gets: the phone script of their incident as it stands now."""
    incident = state.feed.incident(incident_id)
    assert incident is not None
    locale = (
        caller.locale
        if caller.locale in state.feed.organization.locales
        else (state.feed.organization.default_locale)
    )
    words = state.render("ivr", incident, locale, now)
    twiml = to_twiml(Step(locale, _voice(state, locale), say=[words], hangup=True))
    return NewDelivery(
        revision=state.revision.number,
        incident_id=incident.id,
        channel=PhoneCallbacks.name,
        target=caller.address,
        status=incident.status.value,
        fingerprint=f"callback-{caller.id}",
        payload=twiml,
    )


async def ask_for_call(
    store: SubscriptionStore,
    caller: str,
    postcode: str,
    locale: str,
    incident_ids: Sequence[str],
    now: dt.datetime,
) -> Subscription:
    """Remember a caller to call back about each incident (once per caller and incident)."""
    return await store.subscribe(
        PhoneCallbacks.name,
        caller,
        places=[Place.postcode(postcode)],
        locale=locale,
        incident_ids=incident_ids,
        now=now,
    )


async def queue_due(store: SubscriptionStore, state: FeedState, now: dt.datetime) -> int:
    """Queue the calls now owed; safe to run any number of times, on any instance."""
    queued = 0
    for incident_id in due(state, now):
        queued += await store.queue_notifications(
            PhoneCallbacks.name,
            incident_id,
            revision=state.revision.number,
            make=functools.partial(call_for, state, incident_id, now),
            once=True,
        )
    return queued


class PhoneCallbacks(ChannelAdapter):
    name: ClassVar[str] = "phone"
    # Twilio starts 1 outbound call per second per account unless raised.
    limits = (Limit(1, 1.0),)
    concurrency: ClassVar[int] = 4
    batch: ClassVar[int] = 16

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_url: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.api_url = api_url or TWILIO_API
        self.timeout = timeout
        self._client: Client | None = None

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        return []  # callers subscribe by phone; their calls are queued by `queue_due`

    async def start(self) -> None:
        self._client = Client(
            self.account_sid,
            self.auth_token,
            http_client=_RoutedHttpClient(self.api_url, self.timeout),
        )

    async def stop(self) -> None:
        if self._client is not None:
            session = getattr(self._client.http_client, "session", None)
            if session is not None:
                await session.close()
        self._client = None

    async def deliver(self, delivery: Delivery) -> None:
        if self._client is None:
            raise RuntimeError("the phone channel is not started")
        try:
            await self._client.calls.create_async(
                to=delivery.target, from_=self.from_number, twiml=delivery.payload
            )
        except TwilioRestException as exc:
            if exc.status == 429:
                raise RetryLater(1.0, "Twilio rate limit") from exc
            if exc.status >= 500:
                raise TransientError(f"Twilio {exc.status}: {exc.msg}") from exc
            raise PermanentError(f"Twilio {exc.status}: {exc.msg}") from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
