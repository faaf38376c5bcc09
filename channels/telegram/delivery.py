"""The staff bot's delivery adapter: alerts, repeats, escalations and replies, sent through the
engine (its outbox, limits, retries and ledger) by one long-lived Telegram bot.

An alert is recorded with its message id as soon as Telegram answers, before anything
else, so a retry never sends it again: it only finishes what was left (editing the
older alerts of its chat to say they are out of date).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from bot.delivery.adapter import Target
from bot.delivery.model import Delivery, NewDelivery, PermanentError
from bot.feed.models import Incident
from bot.store import AlertMessage
from channels.telegram import alerts
from channels.telegram.adapter import TelegramAdapter
from channels.telegram.bot_api import (
    Buttons,
    ChatMoved,
    ChatUnreachable,
)

if TYPE_CHECKING:
    from bot.state import FeedState

log = logging.getLogger(__name__)


class StaffAdapter(TelegramAdapter):
    name: ClassVar[str] = "staff"
    title: ClassVar[str] = "staff alerts (Telegram)"
    token_variable: ClassVar[str] = "TELEGRAM_STAFF_TOKEN"

    def __init__(self, token: str, api_url: str, **options: Any) -> None:
        super().__init__(token, api_url, **options)
        self.moves: dict[str, str] = {}  # the feed's chat id → where it moved
        # The revision told now, once the channel is set up (operations' warnings need it).
        self.current: Callable[[], FeedState | None] = lambda: None

    # What and to whom (pure) -------------------------------------------------------------

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        found = alerts.targets(state.feed, incident)
        return found if self.chat_limits else [replace(t, limit=None) for t in found]

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        return alerts.alert_payload(state, incident, target, now)

    def follow_ups(
        self, before: Incident | None, current: FeedState, incident: Incident, now: dt.datetime
    ) -> Sequence[NewDelivery]:
        return self._limited(alerts.edge_prompts(current, before, incident, now))

    def _limited(self, deliveries: list[NewDelivery]) -> list[NewDelivery]:
        return (
            deliveries if self.chat_limits else [replace(d, target_limit=None) for d in deliveries]
        )

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await super().start()
        if self._store is not None:
            self.moves = await self._store.chat_moves()

    # How (I/O) ---------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        payload = alerts.Payload.read(delivery.payload)
        if payload.kind in ("reply", "notice", "prompt"):
            await self.send(delivery.target, payload.text, payload.keyboard)
            return
        # Only a delivery's earlier attempt can have recorded its alert (attempts only grow,
        # and its key is its own): the first attempt need not look.
        sent = None
        if delivery.attempts > 1:
            sent = await self.store.alert_of_delivery(delivery.idempotency_key)
        if sent is None:
            chat_id, message_id = await self.send(delivery.target, payload.text, payload.keyboard)
            sent_at = self.clock().timestamp()
            escalate_at = None
            if payload.kind == "alert" and payload.escalate_after:
                escalate_at = sent_at + payload.escalate_after
            sent = await self.store.record_alert(
                AlertMessage(
                    target=delivery.target,
                    message_id=message_id,
                    chat_id=chat_id,
                    incident_id=payload.incident or delivery.incident_id,
                    revision=payload.revision or delivery.revision,
                    group_id=payload.group or "",
                    kind=payload.kind,
                    delivery_key=delivery.idempotency_key,
                    text=payload.text,
                    sent_at=sent_at,
                ),
                escalate_at=escalate_at,
            )
        if sent.kind == "alert":
            await self._supersede(sent, payload.locale)

    async def send(self, target: str, text: str, buttons: Buttons | None) -> tuple[str, int]:
        """Send to the feed's chat `target` (or where it moved): (the chat, the message id)."""
        chat = self.moves.get(target, target)
        try:
            return chat, await self.telegram.send_message(int(chat), text, buttons)
        except ChatMoved as moved:
            new = str(moved.new_chat_id)
            state = self.current()
            warnings = [] if state is None else alerts.moved_chat_warnings(state, target, new)
            if await self.store.move_chat(
                target, new, self.clock().timestamp(), warnings=self._limited(warnings)
            ):
                log.warning(
                    "Telegram chat %s became a supergroup, %s: alerts go there now; put %s in"
                    " the feed's telegram_chat_ids instead of %s (operations are told in %d"
                    " chats)",
                    target,
                    new,
                    new,
                    target,
                    len(warnings),
                )
            self.moves[target] = new
            return new, await self.telegram.send_message(int(new), text, buttons)

    async def _supersede(self, sent: AlertMessage, locale: str) -> None:
        """Edit the chat's older alerts of this incident to point to `sent`."""
        older = await self.store.alerts_to_supersede(sent.target, sent.incident_id, sent.revision)
        for alert in older:
            try:
                await self.telegram.edit_message(
                    int(alert.chat_id),
                    alert.message_id,
                    alerts.stale_text(alert, sent.message_id, locale),
                )
            except (PermanentError, ChatUnreachable, ChatMoved) as exc:
                # (Deleted by someone, or the chat is gone: there is nothing left to correct.)
                log.warning(
                    "could not mark alert %d in %s out of date: %s",
                    alert.message_id,
                    alert.chat_id,
                    exc,
                )
        if older:
            await self.store.mark_superseded(
                sent.target, [a.message_id for a in older], sent.message_id
            )
