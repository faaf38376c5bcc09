"""The staff bot's delivery adapter: alerts, repeats, escalations and replies, sent through the
engine (its outbox, limits, retries and ledger) by one long-lived Telegram bot.

An alert is recorded with its message id as soon as Telegram answers, before anything
else, so a retry never sends it again: it only finishes what was left (editing the
older alerts of its chat to say they are out of date).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.model import Delivery, Limit, PermanentError
from bot.feed.models import Incident
from bot.inbound import Dispatch
from bot.store import AlertMessage, TelegramStore
from channels.telegram import alerts
from channels.telegram.bot_api import (
    Buttons,
    ChatMoved,
    ChatUnreachable,
    TelegramBot,
    TokenRejected,
)
from channels.telegram.limits import BOT_LIMIT
from channels.telegram.updates import Route, UpdatePoller, secret_token, webhook_url

if TYPE_CHECKING:
    from bot.state import FeedState

log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StaffAdapter(ChannelAdapter):
    name: ClassVar[str] = "staff"
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
        # Telegram's per-chat limits (1 a second, 20 a minute in a group), off only when every
        # limit is (TELEGRAM_RATE=0/1: benchmarks and tests of conversations).
        self.chat_limits = chat_limits
        self._store: TelegramStore | None = None
        self.clock: Callable[[], dt.datetime] = _utcnow
        self.moves: dict[str, str] = {}  # the feed's chat id → where it moved
        # With the customer bot on the same token: which channel each update is for.
        self.route: Route | None = None

    def attach(self, store: TelegramStore, clock: Callable[[], dt.datetime]) -> None:
        """Given at setup: where alerts are remembered, and the one clock."""
        self._store = store
        self.clock = clock

    @property
    def store(self) -> TelegramStore:
        if self._store is None:
            raise RuntimeError("the staff channel's store is not attached (Channel.setup)")
        return self._store

    # What and to whom (pure) -------------------------------------------------------------

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        found = alerts.targets(state.feed, incident)
        return found if self.chat_limits else [replace(t, limit=None) for t in found]

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        return alerts.alert_payload(state, incident, target, now)

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.telegram.start()
        except TokenRejected as exc:
            # A clear error, once; the rest of Unavoz runs on, and alerts wait in the outbox.
            log.error("staff alerts (Telegram): %s; set a valid TELEGRAM_STAFF_TOKEN", exc)
        if self._store is not None:
            self.moves = await self._store.chat_moves()

    async def stop(self) -> None:
        await self.telegram.stop()

    # How (I/O) ---------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        payload = alerts.Payload.read(delivery.payload)
        if payload.kind == "reply":
            await self.send(delivery.target, payload.text, payload.keyboard)
            return
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
            await self.store.move_chat(target, new, time.time())
            self.moves[target] = new
            log.warning(
                "Telegram chat %s became a supergroup, %s: alerts go there now; put %s in the"
                " feed's telegram_chat_ids instead of %s",
                target,
                new,
                new,
                target,
            )
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

    # Listening ---------------------------------------------------------------------------

    async def listen(self, dispatch: Dispatch, stop: asyncio.Event) -> None:
        if self.telegram.rejected is not None:
            await stop.wait()
            return
        if self.webhook_base:
            url = webhook_url(self.webhook_base, self.name)
            await self.telegram.set_webhook(url, secret_token(self.token))
            log.info("staff bot: Telegram posts updates to %s", url)
            await stop.wait()
            return
        await UpdatePoller(self.telegram, self.store, self.name, self.clock, self.route).run(
            dispatch, stop
        )
