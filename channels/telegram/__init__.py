"""Telegram: alerts for field staff in their groups, and the bot customers message.

- `bot_api.py` — one long-lived PTB `Bot` per token; Bot API errors as the engine's;
  `aiohttp_request.py` — PTB's HTTP layer on aiohttp (one session per bot).
- `updates.py` — getUpdates (offset in the store) or the webhook; updates as inbound events.
- `staff.py` — the staff voice; `alerts.py` — who hears which alert, superseding, escalation;
  `delivery.py` — the staff adapter; `handlers.py` — the button, /status, /help;
  `operators.py` — operations leads' /open, /update, /resolve from the chat.
- `customer.py` — the customer voice; `customer_replies.py` — what the customer bot says
  (pure); `customer_bot.py` — its handlers; `customer_delivery.py` — its adapter;
  `customer_notify.py` — subscribers told of each change, exactly once;
  `customer_handoff.py` — hand-offs to a person, the console page, the summary API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, Field, SecretStr

from bot.channel import Channel, ChannelContext, admin_op, missing, options_of
from bot.delivery.adapter import ChannelAdapter
from bot.delivery.model import Limit
from bot.feed.models import ChannelOptions, Feed
from bot.inbound import Inbound
from bot.render.renderer import ChannelRenderer
from bot.scheduler import Scheduler
from bot.settings import EnvSection, Settings, secret
from bot.store import Store
from channels.telegram.customer import CustomerRenderer
from channels.telegram.limits import (
    BOT_LIMIT,
    CHAT_LIMIT,
    CUSTOMER_SHARE,
    GROUP_LIMIT,
    STAFF_SHARE,
)
from channels.telegram.staff import StaffRenderer

# (python-telegram-bot is imported where the channel runs, inside the methods below, not
# when the registry loads this module: every CLI command would wait ~0.4 s for it.)

# Seconds between looks for unacknowledged alerts that fall due (on the role holder only).
ESCALATION_CHECK_EVERY = 5.0


class TelegramSettings(EnvSection):
    staff_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_STAFF_TOKEN")
    customer_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_CUSTOMER_TOKEN")
    # The Bot API's base: requests go to {api_url}/bot{token}/{method}.
    api_url: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_URL")
    # The public address of Unavoz's /telegram routes: each bot's webhook is {url}/<channel>/.
    webhook_url: str | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_URL")
    # More operators (Telegram user ids, comma-separated) besides the feed's.
    operators: str | None = Field(None, validation_alias="TELEGRAM_OPERATORS")
    # "COUNT/SECONDS" replacing Telegram's 30 a second for the whole bot (benchmarks: "0/1"
    # turns every limit off).
    rate: str | None = Field(None, validation_alias="TELEGRAM_RATE")


class StaffOptions(ChannelOptions):
    operators: list[int] = Field(
        default_factory=list,
        description="Telegram user ids (numbers, never usernames) of the operations leads who"
        " may /open, /update and /resolve incidents from the chat.",
    )


class StaffChannel(Channel):
    async def incident_lines(self, store: Store, incident_id: str) -> list[str]:
        from channels.telegram.acks import summary

        alerts = await store.latest_alerts(incident_id)
        acks = await store.acks_for(incident_id)
        lines = []
        for group in summary(incident_id, alerts, acks)["groups"]:
            if group["acknowledged"]:
                names = ", ".join(a["user_name"] or str(a["user_id"]) for a in group["by"])
                lines.append(f"staff group {group['group']}: acknowledged by {names}")
            else:
                lines.append(f"staff group {group['group']}: NOT acknowledged")
        return lines

    async def details(
        self, store: Store, adapters: Sequence[ChannelAdapter]
    ) -> dict[str, Any] | None:
        """Groups that became supergroups while the feed still names their old chat id: a
        warning each, until the feed is updated."""
        from channels.telegram.alerts import unsettled_moves
        from channels.telegram.delivery import StaffAdapter

        moves = await store.moved_chats()
        if not moves:
            return None
        adapter = next((a for a in adapters if isinstance(a, StaffAdapter)), None)
        state = adapter.current() if adapter is not None else None
        feed = state.feed if state is not None else await _latest_feed(store)
        unsettled = unsettled_moves(feed, moves)
        return {"migrated_chats": unsettled} if unsettled else None

    def detail_lines(self, details: dict[str, Any]) -> list[str]:
        return [f"WARNING: {move['warning']}" for move in details.get("migrated_chats", [])]

    def admin_paths(self) -> dict[str, Any]:
        incident = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        return {
            "/incidents/{id}/acks": {
                "get": {
                    **admin_op("Who acknowledged the incident's staff alerts, group by group"),
                    "parameters": [incident],
                }
            }
        }

    name: ClassVar[str] = "staff"
    title: ClassVar[str] = "staff alerts (Telegram)"
    description: ClassVar[str] = "Alerts to the staff groups' Telegram chats."
    renderer: ClassVar[ChannelRenderer | None] = StaffRenderer()
    options_model: ClassVar[type[BaseModel]] = StaffOptions
    settings_model: ClassVar[type[EnvSection] | None] = TelegramSettings

    def _settings(self, settings: Settings) -> TelegramSettings:
        return settings.section(self.name, TelegramSettings)

    def state(self, settings: Settings) -> str:
        telegram = self._settings(settings)
        found = missing(telegram, "staff_token")
        if found != "on":
            return found
        if telegram.webhook_url:
            return f"on (webhook {telegram.webhook_url.rstrip('/')}/{self.name}/)"
        return "on (polling)"

    def adapter(self, settings: Settings) -> ChannelAdapter | None:
        from channels.telegram.delivery import StaffAdapter

        telegram = self._settings(settings)
        token = secret(telegram.staff_token)
        if not token:
            return None
        limits = bot_limits(telegram, self.name)
        return StaffAdapter(
            token,
            telegram.api_url,
            webhook_base=telegram.webhook_url,
            limits=limits,
            chat_limits=bool(limits),  # "0/1": no limit at all (benchmarks, tests)
        )

    def _adapter_of(self, context: ChannelContext) -> ChannelAdapter | None:
        from channels.telegram.delivery import StaffAdapter

        return next((a for a in context.adapters if isinstance(a, StaffAdapter)), None)

    def setup_http(self, app: web.Application, context: ChannelContext) -> None:
        from channels.telegram.acks import setup_acks
        from channels.telegram.delivery import StaffAdapter
        from channels.telegram.updates import webhook_app, webhook_path

        setup_acks(app, context)
        adapter = self._adapter_of(context)
        if not isinstance(adapter, StaffAdapter) or not adapter.webhook_base:
            return
        app.add_subapp(
            webhook_path(self.name),
            webhook_app(
                adapter.telegram,
                adapter.token,
                self.name,
                context.dispatcher,
                context.clock,
                adapter.route,
            ),
        )

    def setup(self, context: ChannelContext, scheduler: Scheduler) -> None:
        from channels.telegram.alerts import escalate_due
        from channels.telegram.delivery import StaffAdapter
        from channels.telegram.handlers import StaffBot
        from channels.telegram.operators import Operators

        adapter = self._adapter_of(context)
        if not isinstance(adapter, StaffAdapter):
            return
        adapter.attach(context.store, context.clock)
        service = context.service
        extra = self._settings(context.settings).operators or ""

        def allowed() -> set[str]:
            listed = set()
            if service.has_state:
                options = options_of(service.state.feed, self.name, StaffOptions)
                listed = {str(user) for user in options.operators}
            return listed | {part.strip() for part in extra.split(",") if part.strip()}

        adapter.current = lambda: service.state if service.has_state else None
        staff = StaffBot(adapter, context.store, service, context.wake)
        staff.operators = Operators(staff, allowed)
        context.dispatcher.on(self.name, staff)
        if shared_bot(self._settings(context.settings)):
            operators = staff.operators

            async def route(event: Inbound) -> str:
                # Groups are staff; in private, operators at work are staff, others customers.
                if event.conversation.startswith("-") or await operators.claims(event):
                    return self.name
                return CustomerChannel.name

            adapter.route = route

        async def escalate() -> None:
            if service.has_state and await escalate_due(
                context.store, service.state, context.clock
            ):
                context.wake()

        scheduler.every(ESCALATION_CHECK_EVERY, escalate, id="staff-escalations")


class CustomerChannel(Channel):
    def admin_paths(self) -> dict[str, Any]:
        from channels.telegram.customer_handoff import ReplyRequest

        chat = {"name": "chat", "in": "path", "required": True, "schema": {"type": "string"}}
        return {
            "/subscriptions/summary": {
                "get": admin_op("Subscribers by place (no personal data) and open hand-offs")
            },
            "/customer/handoffs": {"get": admin_op("Customers waiting for a person")},
            "/customer/handoffs/{chat}": {
                "get": {**admin_op("One hand-off's conversation"), "parameters": [chat]}
            },
            "/customer/handoffs/{chat}/reply": {
                "post": {
                    **admin_op(
                        "Reply through the bot (checked by the claims lint)",
                        body=ReplyRequest,
                        status="202",
                    ),
                    "parameters": [chat],
                }
            },
            "/customer/handoffs/{chat}/close": {
                "post": {**admin_op("Close a hand-off"), "parameters": [chat]}
            },
        }

    def console_pages(self) -> list[tuple[str, str]]:
        return [("/console/customer", "Customer hand-offs")]

    name: ClassVar[str] = "customer"
    title: ClassVar[str] = "customer bot (Telegram)"
    description: ClassVar[str] = "The Telegram bot customers ask."
    renderer: ClassVar[ChannelRenderer | None] = CustomerRenderer()
    settings_model: ClassVar[type[EnvSection] | None] = TelegramSettings

    def _settings(self, settings: Settings) -> TelegramSettings:
        return settings.section(self.name, TelegramSettings)

    def state(self, settings: Settings) -> str:
        telegram = self._settings(settings)
        found = missing(telegram, "customer_token")
        if found != "on":
            return found
        if shared_bot(telegram):
            return "on (the staff bot's token: one bot, one poller)"
        if telegram.webhook_url:
            return f"on (webhook {telegram.webhook_url.rstrip('/')}/{self.name}/)"
        return "on (polling)"

    def adapter(self, settings: Settings) -> ChannelAdapter | None:
        from channels.telegram.customer_delivery import CustomerAdapter

        telegram = self._settings(settings)
        token = secret(telegram.customer_token)
        if not token:
            return None
        limits = bot_limits(telegram, self.name)
        return CustomerAdapter(
            token,
            telegram.api_url,
            webhook_base=telegram.webhook_url,
            limits=limits,
            chat_limits=bool(limits),
        )

    def setup_http(self, app: web.Application, context: ChannelContext) -> None:
        from channels.telegram.customer_delivery import CustomerAdapter
        from channels.telegram.customer_handoff import setup_handoffs
        from channels.telegram.updates import webhook_app, webhook_path

        adapter = next((a for a in context.adapters if isinstance(a, CustomerAdapter)), None)
        setup_handoffs(app, context)
        if (
            adapter is None
            or not adapter.webhook_base
            or shared_bot(self._settings(context.settings))
        ):
            return
        app.add_subapp(
            webhook_path(self.name),
            webhook_app(
                adapter.telegram, adapter.token, self.name, context.dispatcher, context.clock
            ),
        )

    def setup(self, context: ChannelContext, scheduler: Scheduler) -> None:
        from channels.telegram.customer_bot import CustomerBot
        from channels.telegram.customer_delivery import CustomerAdapter
        from channels.telegram.customer_handoff import Handoffs
        from channels.telegram.customer_notify import NotifyOnRevision
        from channels.telegram.delivery import StaffAdapter

        adapter = next((a for a in context.adapters if isinstance(a, CustomerAdapter)), None)
        if adapter is None:
            return
        adapter.attach(context.store, context.clock)
        staff = next((a for a in context.adapters if isinstance(a, StaffAdapter)), None)
        if staff is not None and staff.token == adapter.token:
            adapter.share(staff.telegram)
        bot = CustomerBot(adapter, context.store, context.service, context.wake)
        bot.handoffs = Handoffs(context.store, context.service, adapter, context.wake)
        context.dispatcher.on(self.name, bot)
        notify = NotifyOnRevision(
            context.store, context.service, context.wake, chat_limits=adapter.chat_limits
        )
        context.service.subscribe(notify)


async def _latest_feed(store: Store) -> Feed | None:
    """The feed of the latest revision (`unavoz audit`, which runs no channel)."""
    from bot.feed.loader import parse_feed
    from bot.feed.yamlsource import FeedError
    from bot.registry import default_registry

    latest = await store.latest_revision()
    if latest is None:
        return None
    try:
        return parse_feed(latest.document, f"revision {latest.number}", default_registry()).feed
    except FeedError:
        return None


def shared_bot(telegram: TelegramSettings) -> bool:
    """Whether the staff and customer bots are one bot (one token)."""
    staff, customer = secret(telegram.staff_token), secret(telegram.customer_token)
    return bool(staff) and staff == customer


def bot_limits(telegram: TelegramSettings, channel: str) -> tuple[Limit, ...]:
    """The bot-wide ceiling of `channel`'s adapter: Telegram's 30 a second, or TELEGRAM_RATE
    ("0/1": none). One bot serving both channels splits it (staff 10, customers 20), as the
    engine counts each channel's window on its own."""
    if telegram.rate:
        return tuple(limit for limit in Limit.parse(telegram.rate) if limit.count > 0)
    if shared_bot(telegram):
        return (STAFF_SHARE,) if channel == "staff" else (CUSTOMER_SHARE,)
    return (BOT_LIMIT,)


__all__ = [
    "BOT_LIMIT",
    "CHAT_LIMIT",
    "GROUP_LIMIT",
    "CustomerChannel",
    "StaffChannel",
    "StaffOptions",
    "TelegramSettings",
]
