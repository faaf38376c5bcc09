"""The customer bot's delivery adapter: answers, notifications and the team's replies, sent
through the engine (outbox, limits, retries, ledger) by one long-lived Telegram bot.

Nothing is planned per revision (`targets` is empty): answers are queued by the handlers
(`customer_bot.py`), notifications by `customer_notify.py`. When the customer bot and the
staff bot are one token, this adapter borrows the staff adapter's `TelegramBot` (one
client, one pause after a 429) and does not listen: the staff adapter's single poller
routes private chats here (`route_of`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bot.delivery.adapter import Target
from bot.delivery.model import Delivery, PermanentError
from bot.feed.models import Incident
from channels.telegram.adapter import TelegramAdapter
from channels.telegram.bot_api import ChatUnreachable

if TYPE_CHECKING:
    from bot.state import FeedState

log = logging.getLogger(__name__)


class CustomerAdapter(TelegramAdapter):
    name: ClassVar[str] = "customer"
    title: ClassVar[str] = "customer bot (Telegram)"
    token_variable: ClassVar[str] = "TELEGRAM_CUSTOMER_TOKEN"

    def __init__(self, token: str, api_url: str, **options: Any) -> None:
        super().__init__(token, api_url, **options)
        self.blocked = 0  # chats that blocked the bot, their subscriptions ended

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        return []  # subscribers are told by customer_notify, answers by the handlers

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        return ""

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
