"""What the staff and customer adapters share: one long-lived Telegram bot with its lifecycle,
the store and clock given at setup, and how updates are received (webhook or polling)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import ClassVar

from bot.delivery.adapter import ChannelAdapter
from bot.delivery.model import Limit
from bot.inbound import Dispatch
from bot.store import Store
from channels.telegram.bot_api import TelegramBot, TokenRejected
from channels.telegram.limits import BOT_LIMIT
from channels.telegram.updates import Route, UpdatePoller, secret_token, webhook_url

log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TelegramAdapter(ChannelAdapter):
    # How `unavoz run` names the bot, and the variable holding its token (for errors).
    title: ClassVar[str]
    token_variable: ClassVar[str]
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
        self.shared = False  # another adapter's bot (the same token): it starts and listens
        # With both bots on one token: which channel each update is for (the poller's owner).
        self.route: Route | None = None
        self._store: Store | None = None
        self.clock: Callable[[], dt.datetime] = _utcnow

    def attach(self, store: Store, clock: Callable[[], dt.datetime]) -> None:
        """Given at setup: the store, and the one clock."""
        self._store = store
        self.clock = clock

    def share(self, telegram: TelegramBot) -> None:
        """Use another adapter's client (same token): one Bot, one poller, one 429 pause."""
        self.telegram = telegram
        self.shared = True

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError(f"the {self.name} channel's store is not attached (Channel.setup)")
        return self._store

    async def start(self) -> None:
        if self.shared:
            return
        try:
            await self.telegram.start()
        except TokenRejected as exc:
            # A clear error, once; the rest of Unavoz runs on, and messages wait in the outbox.
            log.error("%s: %s; set a valid %s", self.title, exc, self.token_variable)

    async def stop(self) -> None:
        if not self.shared:
            await self.telegram.stop()

    async def listen(self, dispatch: Dispatch, stop: asyncio.Event) -> None:
        if self.shared or self.telegram.rejected is not None:
            await stop.wait()
            return
        if self.webhook_base:
            url = webhook_url(self.webhook_base, self.name)
            await self.telegram.set_webhook(url, secret_token(self.token))
            log.info("%s: Telegram posts updates to %s", self.title, url)
            await stop.wait()
            return
        poller = UpdatePoller(self.telegram, self.store, self.name, self.clock, self.route)
        await poller.run(dispatch, stop)
