"""The dispatcher: each inbound event to the services that answer its channel.

Channels register handlers for their own events at start (`Channel.setup`); a
listener hands every event it receives to the dispatcher. A handler that fails is
logged with the event and counted; it never stops the listener, so one odd message
cannot silence a channel for everyone else.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from bot import metrics
from bot.inbound import Inbound

log = logging.getLogger(__name__)
Handler = Callable[[Inbound], Awaitable[None]]


class Dispatcher:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def on(self, channel: str, handler: Handler) -> None:
        """Have `handler` answer every event that arrives on `channel`."""
        self._handlers[channel].append(handler)

    def handles(self, channel: str) -> bool:
        return bool(self._handlers.get(channel))

    async def __call__(self, event: Inbound) -> None:
        metrics.INBOUND.labels(event.channel).inc()
        handlers = self._handlers.get(event.channel)
        if not handlers:
            log.warning("nobody answers %s events: %s dropped", event.channel, type(event).__name__)
            return
        for handler in handlers:
            try:
                await handler(event)
            except Exception:
                metrics.INBOUND_FAILED.labels(event.channel).inc()
                log.exception(
                    "could not answer a %s from %s on %s",
                    type(event).__name__,
                    event.person.id,
                    event.channel,
                )
