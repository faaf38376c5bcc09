"""What a delivering channel is: its limits, its targets, its payload, and how it sends.

The engine (`bot/delivery/engine.py`) owns retries, throttling and idempotency;
an adapter only says who to tell (`targets`), what (`payload`, made from the
renderers' words) and how one message goes out (`deliver`), raising
`RetryLater`, `TransientError` or `PermanentError` when it does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

from bot.delivery.model import Delivery, Limit
from bot.feed.models import Incident

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

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        """Who must hear about `incident` in this revision (pure: no I/O)."""
        raise NotImplementedError

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        """What `target` is sent (pure). Equal payloads across revisions are not resent."""
        raise NotImplementedError

    async def start(self) -> None:
        """Open the channel's long-lived client."""

    async def stop(self) -> None:
        """Close it."""

    async def deliver(self, delivery: Delivery) -> None:
        raise NotImplementedError

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
