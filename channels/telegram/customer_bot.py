"""What the customer bot answers in private chats: words about a place, /start, /help,
/language, /subscribe, /unsubscribe, /mysubscriptions, /forget, /human, and its buttons.

The words come from `customer_replies.py` (pure); this module does the I/O: answers go
out through the outbox (keyed by the message answered, so a message read twice is
answered once), subscriptions into the store. Group chats are staff business, never
answered here. A person sending more than `FLOOD` messages a minute is told once to slow
down and then ignored until the minute is over; nothing they send slows others.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot import conversation
from bot.delivery.model import UNRECORDED, DeliveryError, Limit, NewDelivery
from bot.inbound import ButtonPressed, Inbound, TextMessage
from bot.store import Place, Store
from channels.telegram import customer_replies as replies
from channels.telegram.customer_delivery import CustomerAdapter
from channels.telegram.customer_replies import Said
from channels.telegram.customer_words import word
from channels.telegram.limits import CHAT_LIMIT

if TYPE_CHECKING:
    from bot.service import FeedService
    from bot.state import FeedState

log = logging.getLogger(__name__)

FLOOD = Limit(20, 60.0)  # messages one person may send before being asked to wait
REMEMBERED_PEOPLE = 10_000  # flood counters (and places last asked about) kept, at most
RECALL = 30 * 60.0  # seconds a chat's last place answers a follow-up ("when is it fixed?")


class CustomerBot:
    def __init__(
        self,
        adapter: CustomerAdapter,
        store: Store,
        service: FeedService,
        wake: Callable[[], None],
    ) -> None:
        self.adapter = adapter
        self.store = store
        self.service = service
        self.wake = wake
        self._recent: dict[str, deque[float]] = {}
        self._warned: dict[str, float] = {}
        self._asked: dict[str, tuple[float, tuple[conversation.Place, ...]]] = {}
        # The hand-off desk, when the operators' console runs (see customer_handoff.py).
        self.handoffs: HandoffDesk | None = None

    async def __call__(self, event: Inbound) -> None:
        if not self.service.has_state or event.conversation.startswith("-"):
            return  # groups are staff chats
        if await self._flooded(event):
            return
        state = self.service.state
        locale = await self._locale(event, state)
        if isinstance(event, ButtonPressed):
            await self._button(event, state, locale)
        elif isinstance(event, TextMessage):
            command = event.command
            if command is not None:
                await self._command(event, command, state, locale)
            else:
                await self._words(event, state, locale)

    # Who is asking -----------------------------------------------------------------------

    async def _flooded(self, event: Inbound) -> bool:
        who = event.person.id
        now = event.at.timestamp()
        times = self._recent.get(who)
        if times is None:
            if len(self._recent) >= REMEMBERED_PEOPLE:
                self._recent.clear()
                self._warned.clear()
            times = self._recent[who] = deque()
        while times and times[0] <= now - FLOOD.seconds:
            times.popleft()
        times.append(now)
        if len(times) <= FLOOD.count:
            return False
        if self._warned.get(who, -1e18) <= now - FLOOD.seconds:
            self._warned[who] = now
            locale = replies.locale_for(self.service.state.feed, event.person.locale)
            await self.send(event, [Said(word(locale, "slow_down"))], locale)
        return True

    async def _locale(self, event: Inbound, state: FeedState) -> str:
        """The language chosen with /language, else the subscription's, else Telegram's."""
        chat = event.conversation
        wanted = await self.store.chosen_language(self.adapter.name, chat)
        if wanted is None:
            subscriptions = await self.store.subscriptions_of(self.adapter.name, chat)
            wanted = subscriptions[0].locale if subscriptions else event.person.locale
        return replies.locale_for(state.feed, wanted)

    # What they sent ----------------------------------------------------------------------

    async def _words(self, event: TextMessage, state: FeedState, locale: str) -> None:
        now = self.service.clock()
        text = replies.clean(event.text)
        understood = conversation.understand(state, text)
        if self.handoffs is not None and await self.handoffs.is_open(event.conversation):
            await self.handoffs.customer_wrote(event, text, locale)
            if not understood.places and not understood.choices:
                return  # the team answers; the bot keeps quiet
        if understood.wants_human:
            await self._human(event, state, understood.places, locale, text)
            return
        earlier = self._asked.get(event.conversation)
        if understood.places:
            self._remember(event.conversation, understood.places, now.timestamp())
        said = replies.answer(
            state,
            text,
            locale,
            now,
            understood=understood,
            earlier=earlier[1] if earlier and earlier[0] > now.timestamp() - RECALL else (),
            name=_first_name(event.person.name),
        )
        await self.send(event, said, locale)

    def _remember(self, chat: str, places: Sequence[conversation.Place], at: float) -> None:
        """What a chat asked about last, for a follow-up question that names no place (in
        memory only, for `RECALL` seconds; /forget drops it)."""
        if len(self._asked) >= REMEMBERED_PEOPLE and chat not in self._asked:
            self._asked.clear()
        self._asked[chat] = (at, tuple(places))

    async def _command(
        self, event: TextMessage, command: tuple[str, str], state: FeedState, locale: str
    ) -> None:
        name, rest = command
        rest = replies.clean(rest)
        feed = state.feed
        now = self.service.clock()
        said: list[Said]
        if name == "start":
            said = [replies.start(feed, locale, _first_name(event.person.name))]
        elif name == "language":
            wanted = rest.lower()
            if wanted in feed.organization.locales:
                await self._set_language(event.conversation, wanted)
                locale = wanted
                said = [Said(word(locale, "language_set"))]
            else:
                said = [replies.languages(feed)]
        elif name == "subscribe":
            said = await self._subscribe_words(event, state, rest, locale)
        elif name in ("unsubscribe", "stop"):
            said = [await self._unsubscribe(event.conversation, state, rest, locale)]
        elif name in ("mysubscriptions", "subscriptions"):
            subs = await self.store.subscriptions_of(self.adapter.name, event.conversation)
            places = subs[0].places if subs else ()
            said = [Said(replies.subscriptions_text(feed, places, locale))]
        elif name == "forget":
            await self.forget(event.conversation)
            # The rest (what waits for the chat, the ledger, the rate-limit log) goes once the
            # confirmation is out: forgetting first would let it jump the chat's 1/s limit.
            said = [Said(word(locale, "forgotten"), kind="forget")]
        elif name in ("human", "persona", "agent"):
            asked = conversation.understand(state, rest).places if rest else ()
            await self._human(event, state, asked, locale, rest or "/human")
            return
        elif name == "help":
            said = [Said(word(locale, "help"))]
        else:
            said = (
                replies.answer(state, rest, locale, now) if rest else [Said(word(locale, "help"))]
            )
        await self.send(event, said, locale)

    async def _button(self, event: ButtonPressed, state: FeedState, locale: str) -> None:
        if event.answer_id:
            try:
                await self.adapter.telegram.answer_callback(event.answer_id)
            except DeliveryError as exc:
                log.warning("customer bot: %s", exc)
        kind, _, value = event.data.partition(":")
        now = self.service.clock()
        said: list[Said] = []
        if kind == "l" and value in state.feed.organization.locales:
            await self._set_language(event.conversation, value)
            said = [Said(word(value, "language_set"))]
            locale = value
        elif (place := replies.parse_place(value)) is not None and kind in ("a", "s"):
            if kind == "a":
                said = replies.answer_place(state, place, locale, now)
                chosen = replies.conversation_place(place)
                self._remember(event.conversation, [chosen], now.timestamp())
            else:
                said = [await self._subscribe(event.conversation, state, place, locale)]
        await self.send(event, said, locale)

    # Subscriptions -----------------------------------------------------------------------

    async def _subscribe_words(
        self, event: TextMessage, state: FeedState, text: str, locale: str
    ) -> list[Said]:
        if not text:
            subs = await self.store.subscriptions_of(self.adapter.name, event.conversation)
            if subs:
                return [Said(replies.subscriptions_text(state.feed, subs[0].places, locale))]
            return [Said(word(locale, "subscribe_what"))]
        understood = conversation.understand(state, text)
        if understood.choices:
            return [replies.choices(state, understood.choices, locale, "s")]
        chosen = replies.primary(understood.places)
        if chosen is None:
            return replies.answer_understood(state, understood, locale, self.service.clock())
        place = replies.store_place(chosen)
        return [await self._subscribe(event.conversation, state, place, locale)]

    async def _subscribe(self, chat: str, state: FeedState, place: Place, locale: str) -> Said:
        await self.store.subscribe(
            self.adapter.name, chat, places=[place], locale=locale, now=self.service.clock()
        )
        return Said(word(locale, "subscribed", place=replies.place_name(state.feed, place, locale)))

    async def _unsubscribe(self, chat: str, state: FeedState, text: str, locale: str) -> Said:
        if not text:
            await self.store.unsubscribe(self.adapter.name, chat)
            return Said(word(locale, "unsubscribed_all"))
        subs = await self.store.subscriptions_of(self.adapter.name, chat)
        listened = subs[0].places if subs else ()
        understood = conversation.understand(state, text)
        wanted = {replies.store_place(p) for p in (*understood.places, *understood.choices)}
        dropped = [p for p in listened if p in wanted]
        for place in dropped:
            await self.store.unsubscribe(self.adapter.name, chat, place)
        if not dropped:
            return Said(replies.subscriptions_text(state.feed, listened, locale))
        named = ", ".join(replies.place_name(state.feed, p, locale) for p in dropped)
        return Said(word(locale, "unsubscribed", place=named))

    async def _set_language(self, chat: str, locale: str) -> None:
        # Kept in the store (the chat and the locale, nothing else), subscribed or not: a
        # restart, or another instance taking over, speaks it too.
        await self.store.choose_language(self.adapter.name, chat, locale)
        subs = await self.store.subscriptions_of(self.adapter.name, chat)
        if subs:  # the language notifications come in
            await self.store.subscribe(
                self.adapter.name, chat, places=subs[0].places, locale=locale
            )

    async def forget(self, chat: str) -> None:
        """The chat's subscriptions, language and hand-offs, at once (the adapter forgets
        the rest when it sends the confirmation)."""
        self._asked.pop(chat, None)
        await self.store.choose_language(self.adapter.name, chat, None)
        await self.store.unsubscribe(self.adapter.name, chat)
        if self.handoffs is not None:
            await self.handoffs.forget(chat)

    # A person ----------------------------------------------------------------------------

    async def _human(
        self,
        event: Inbound,
        state: FeedState,
        places: Sequence[conversation.Place],
        locale: str,
        text: str,
    ) -> None:
        now = self.service.clock()
        if not places:  # the places they listen to say which desk
            subs = await self.store.subscriptions_of(self.adapter.name, event.conversation)
            places = [replies.conversation_place(p) for p in (subs[0].places if subs else ())]
        await self.send(event, [replies.human(state, places, locale, now)], locale)
        if self.handoffs is not None:
            await self.handoffs.open(
                event, text, locale, [str(replies.store_place(p)) for p in places]
            )

    # Sending -----------------------------------------------------------------------------

    async def send(self, event: Inbound, said: Sequence[Said], locale: str) -> None:
        """Answer `event` through the outbox (each message once per message answered)."""
        if not said:
            return
        key = _key_of(event)
        deliveries = [
            reply_delivery(
                self.service.state,
                event.conversation,
                f"{key}:{n}",
                one,
                CHAT_LIMIT if self.adapter.chat_limits else None,
            )
            for n, one in enumerate(said)
        ]
        if await self.store.enqueue(deliveries):
            self.wake()


class HandoffDesk:
    """What the bot needs of the hand-off desk (`customer_handoff.py`)."""

    async def is_open(self, chat: str) -> bool:
        raise NotImplementedError

    async def open(self, event: Inbound, text: str, locale: str, places: list[str]) -> None:
        raise NotImplementedError

    async def customer_wrote(self, event: Inbound, text: str, locale: str) -> None:
        raise NotImplementedError

    async def forget(self, chat: str) -> None:
        raise NotImplementedError


def reply_delivery(
    state: FeedState, chat: str, key: str, said: Said, chat_limit: Limit | None = CHAT_LIMIT
) -> NewDelivery:
    body = {
        "kind": said.kind,
        "text": said.text[:4096],
        "buttons": [[list(b) for b in row] for row in said.buttons],
    }
    return NewDelivery(
        revision=state.revision.number,
        incident_id=f"reply:{key}",
        channel="customer",
        target=chat,
        # The confirmation of /forget leaves no ledger row: nothing about the chat stays.
        status=UNRECORDED if said.kind == "forget" else "reply",
        fingerprint="reply",
        payload=json.dumps(body, ensure_ascii=False, sort_keys=True),
        target_limit=chat_limit,
    )


def _key_of(event: Inbound) -> str:
    if isinstance(event, TextMessage) and event.message_id:
        return f"{event.conversation}:{event.message_id}"
    if isinstance(event, ButtonPressed) and event.answer_id:
        return f"{event.conversation}:q{event.answer_id}"
    return f"{event.conversation}:{event.person.id}:{event.at.timestamp()}"


def _first_name(name: str | None) -> str | None:
    return name.split()[0] if name else None
