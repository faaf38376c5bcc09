"""What the staff bot answers: the Acknowledge button, /status and /help in staff groups, and
the operators' commands (handed to `operators.py`). Anything else changes nothing.

Answers go out through the outbox (`reply_delivery`, keyed by the message answered) except
the two Telegram wants at once: the callback answer, and the edit showing who acknowledged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.delivery.model import DeliveryError
from bot.inbound import ButtonPressed, Inbound, TextMessage
from bot.store import Store
from channels.telegram import alerts
from channels.telegram.delivery import StaffAdapter
from channels.telegram.words import word

if TYPE_CHECKING:
    from bot.service import FeedService
    from channels.telegram.operators import Operators

log = logging.getLogger(__name__)


class StaffBot:
    def __init__(
        self,
        adapter: StaffAdapter,
        store: Store,
        service: FeedService,
        wake: Callable[[], None],
        operators: Operators | None = None,
    ) -> None:
        self.adapter = adapter
        self.store = store
        self.service = service
        self.wake = wake
        self.operators = operators
        self._ignored_chats: set[str] = set()

    def target_of(self, chat_id: str) -> str:
        """The feed's id of a chat that may have migrated since (its own, once the feed
        names it: the operators updated `telegram_chat_ids`)."""
        if self.service.has_state and alerts.group_of_chat(self.service.state.feed, chat_id):
            return chat_id
        for target, moved in self.adapter.moves.items():
            if moved == chat_id:
                return target
        return chat_id

    async def __call__(self, event: Inbound) -> None:
        if not self.service.has_state:
            return
        if self.operators is not None and await self.operators.handles(event):
            return
        chat = self.target_of(event.conversation)
        group = alerts.group_of_chat(self.service.state.feed, chat)
        if group is None:
            self._ignore(event)
            return
        if isinstance(event, ButtonPressed):
            await self._button(event, chat)
        elif isinstance(event, TextMessage) and event.command is not None:
            await self._command(event, chat)

    def _ignore(self, event: Inbound) -> None:
        if event.conversation not in self._ignored_chats:
            self._ignored_chats.add(event.conversation)
            log.warning(
                "staff bot: chat %s is no staff group of the feed; what it sends is ignored",
                event.conversation,
            )

    # The Acknowledge button --------------------------------------------------------------

    async def _button(self, event: ButtonPressed, chat: str) -> None:
        feed = self.service.state.feed
        group = alerts.group_of_chat(feed, chat)
        locale = alerts.locale_of(feed, group) if group else feed.organization.default_locale
        message_id = _int(event.message_id)
        recorded = None
        if event.data == alerts.ACK_DATA and message_id is not None:
            recorded = await self.store.record_ack(
                chat,
                message_id,
                user_id=event.person.id,
                user_name=event.person.name or event.person.id,
                at=event.at.timestamp(),
            )
        if recorded is None:
            await self._answer(event, word(locale, "ack_unknown"))
            return
        ack, acks = recorded
        await self._answer(event, word(locale, "ack_stale" if ack.stale else "ack_thanks"))
        if ack.stale:
            log.info(
                "a stale acknowledgement of %s by %s in %s", ack.incident_id, ack.user_id, chat
            )
            return
        alert = await self.store.alert_message(chat, ack.message_id)
        if alert is None or alert.superseded_by is not None:
            return
        zone = feed.organization.tz
        names = [f"{a.user_name} ({_clock_time(a.at, zone)})" for a in acks if not a.stale]
        await self._quietly(
            self.adapter.telegram.edit_message(
                int(alert.chat_id),
                alert.message_id,
                alerts.acked_text(alert, names, locale),
                [[(word(locale, "ack"), alerts.ACK_DATA)]],
            )
        )

    async def _answer(self, event: ButtonPressed, text: str) -> None:
        if event.answer_id:
            await self._quietly(self.adapter.telegram.answer_callback(event.answer_id, text))

    @staticmethod
    async def _quietly(call: Awaitable[None]) -> None:
        try:
            await call
        except DeliveryError as exc:
            log.warning("staff bot: %s", exc)

    # /status and /help -------------------------------------------------------------------

    async def _command(self, event: TextMessage, chat: str) -> None:
        assert event.command is not None
        name, _ = event.command
        state = self.service.state
        group = alerts.group_of_chat(state.feed, chat)
        assert group is not None
        locale = alerts.locale_of(state.feed, group)
        if name == "status":
            now = self.service.clock()
            texts = [
                state.render(alerts.CHANNEL, incident, locale, now)
                for incident in state.feed.incidents
                if incident.is_open and alerts.group_matches(state.feed, group, incident)
            ]
            text = "\n\n— — —\n\n".join(texts) or word(locale, "no_incidents")
        elif name in ("help", "start"):
            text = word(locale, "help")
        else:
            return
        await self.reply(event, text, locale)

    async def reply(
        self,
        event: Inbound,
        text: str,
        locale: str,
        buttons: Sequence[Sequence[tuple[str, str]]] = (),
        key: str | None = None,
    ) -> None:
        """Answer `event` through the outbox (once per message answered)."""
        answered = key or _key_of(event)
        delivery = alerts.reply_delivery(
            self.service.state, event.conversation, answered, text, locale, buttons
        )
        if not self.adapter.chat_limits:
            delivery = replace(delivery, target_limit=None)
        if await self.store.enqueue([delivery]):
            self.wake()


def _key_of(event: Inbound) -> str:
    if isinstance(event, TextMessage) and event.message_id:
        return f"{event.conversation}:{event.message_id}"
    if isinstance(event, ButtonPressed) and event.answer_id:
        return f"{event.conversation}:q{event.answer_id}"
    return f"{event.conversation}:{event.person.id}:{event.at.timestamp()}"


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _clock_time(moment: float, zone: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(moment, zone).strftime("%H:%M")
