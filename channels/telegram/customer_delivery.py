"""The customer bot's delivery adapter: answers, notifications and the team's replies, sent
through the engine (outbox, limits, retries, ledger) by one long-lived Telegram bot.

Nothing is planned per revision (`targets` is empty): answers are queued by the handlers
(`customer_bot.py`), notifications by `customer_notify.py`. When the customer bot and the
staff bot are one token, this adapter borrows the staff adapter's `TelegramBot` (one
client, one pause after a 429) and does not listen: the staff adapter's single poller
routes private chats here (`route_of`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.model import Delivery, Limit, PermanentError
from bot.feed.models import Incident
from bot.inbound import Dispatch
from bot.store import Store
from channels.telegram.bot_api import ChatUnreachable, TelegramBot, TokenRejected
from channels.telegram.limits import BOT_LIMIT
from channels.telegram.updates import UpdatePoller, secret_token, webhook_url

if TYPE_CHECKING:
    from bot.state import FeedState

log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CustomerAdapter(ChannelAdapter):
    name: ClassVar[str] = "customer"
    concurrency: ClassVar[int] = 32
    batch: ClassVar[int] = 256
    unique_listener: ClassVar[bool] = True

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        webhook_base: str | None = None,
        limits: Sequence[Limit] = (BOT_LIMIT,),
        chat_limits: bool = True,
        timeout: float = 10.0,
        poll_timeout: float = 25.0,
    ) -> None:
        self.token = token
        self.telegram = TelegramBot(token, api_url, timeout=timeout, poll_timeout=poll_timeout)
        self.webhook_base = webhook_base
        self.limits = tuple(limits)
        self.chat_limits = chat_limits
        self.shared = False  # the staff adapter's bot, and its poller
        self._store: Store | None = None
        self.clock: Callable[[], dt.datetime] = _utcnow
        self.blocked = 0  # chats that blocked the bot, their subscriptions ended

    def attach(self, store: Store, clock: Callable[[], dt.datetime]) -> None:
        self._store = store
        self.clock = clock

    def share(self, telegram: TelegramBot) -> None:
        """Use the staff bot's client (same token): one Bot, one poller."""
        self.telegram = telegram
        self.shared = True

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the customer channel's store is not attached (Channel.setup)")
        return self._store

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        return []  # subscribers are told by customer_notify, answers by the handlers

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        return ""

    async def start(self) -> None:
        if self.shared:
            return  # the staff adapter starts and stops the shared client
        try:
            await self.telegram.start()
        except TokenRejected as exc:
            log.error("customer bot (Telegram): %s; set a valid TELEGRAM_CUSTOMER_TOKEN", exc)

    async def stop(self) -> None:
        if not self.shared:
            await self.telegram.stop()

    async def deliver(self, delivery: Delivery) -> None:
        body = json.loads(delivery.payload)
        buttons = [[(str(label), str(data)) for label, data in row] for row in body["buttons"]]
        try:
            await self.telegram.send_message(int(delivery.target), body["text"], buttons)
        except ChatUnreachable as exc:
            if "403" in exc.reason:
                # Blocked: nothing more goes to that chat until it writes again.
                ended = await self.store.unsubscribe(self.name, delivery.target)
                self.blocked += 1
                log.info(
                    "customer chat %s blocked the bot: %d subscriptions ended",
                    delivery.target,
                    ended,
                )
                raise PermanentError(exc.reason) from exc
            raise
        if body.get("kind") == "forget":  # /forget: its confirmation is out, the rest goes
            await self.store.forget(self.name, delivery.target)

    async def listen(self, dispatch: Dispatch, stop: asyncio.Event) -> None:
        if self.shared or self.telegram.rejected is not None:
            await stop.wait()
            return
        if self.webhook_base:
            url = webhook_url(self.webhook_base, self.name)
            await self.telegram.set_webhook(url, secret_token(self.token))
            log.info("customer bot: Telegram posts updates to %s", url)
            await stop.wait()
            return
        await UpdatePoller(self.telegram, self.store, self.name, self.clock).run(dispatch, stop)
