"""What a delivering channel is: its limits, its targets, its payload, how it sends, and
how it listens.

The engine (`bot/delivery/engine.py`) owns retries, throttling and idempotency;
an adapter only says who to tell (`targets`), what (`payload`, made from the
renderers' words) and how one message goes out (`deliver`), raising
`RetryLater`, `TransientError` or `PermanentError` when it does not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

from bot.delivery.model import Delivery, Limit, NewDelivery
from bot.feed.models import Incident
from bot.inbound import Dispatch

if TYPE_CHECKING:
    from bot.state import FeedState


@dataclass(frozen=True, slots=True)
class Target:
    """Someone a channel tells: a chat, an account, a URL. `limit` is its own rate limit."""

    id: str
    locale: str | None = None
    limit: Limit | None = None


class ChannelAdapter:
    name: ClassVar[str]
    # Ceilings for the whole channel, e.g. (Limit(30, 1.0),) for Telegram's 30 messages/s.
    limits: tuple[Limit, ...] = ()
    # Deliveries sent at once (each to a different target: a target gets one at a time).
    concurrency: ClassVar[int] = 32
    # Deliveries claimed from the outbox per round.
    batch: ClassVar[int] = 256
    # Whether only one instance at a time may listen (Telegram's getUpdates answers a second
    # poller 409; X's mentions would be read twice): it listens under the scheduler role.
    unique_listener: ClassVar[bool] = True

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        """Who must hear about `incident` in this revision (pure: no I/O)."""
        raise NotImplementedError

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        """What `target` is sent (pure). Equal payloads across revisions are not resent."""
        raise NotImplementedError

    def follow_ups(
        self,
        before: Incident | None,
        current: FeedState,
        incident: Incident,
        now: dt.datetime,
    ) -> Sequence[NewDelivery]:
        """Deliveries other than `incident`'s messages that its change in this revision calls
        for (pure; `before`: the incident in the revision before). The staff channel asks
        operations for a new ETA in the revision telling that one passed. Planned in the
        revision's own transaction, like its messages: queued once, with it."""
        return ()

    async def start(self) -> None:
        """Open the channel's long-lived client."""

    async def stop(self) -> None:
        """Close it."""

    async def deliver(self, delivery: Delivery) -> None:
        raise NotImplementedError

    @property
    def receives(self) -> bool:
        """Whether this adapter listens for what people send (it overrides `listen`)."""
        return type(self).listen is not ChannelAdapter.listen

    async def listen(self, dispatch: Dispatch, stop: asyncio.Event) -> None:
        """Receive what people send this channel, hand each event to `dispatch`, until
        `stop` is set. A channel that receives nothing does not override it."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
