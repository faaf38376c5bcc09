"""Telegram's own limits, which its adapters hand to the engine to enforce (a target's own
limit for chats): 30 messages a second per bot, 20 a minute per group, 1 a second per chat."""

from __future__ import annotations

from bot.delivery.model import Limit

BOT_LIMIT = Limit(30, 1.0)
GROUP_LIMIT = Limit(20, 60.0)
CHAT_LIMIT = Limit(1, 1.0)
# One bot serving staff groups and customers (the same token): Telegram's 30 a second shared.
STAFF_SHARE = Limit(10, 1.0)
CUSTOMER_SHARE = Limit(20, 1.0)
MAX_CALLBACK_DATA = 64  # bytes of a button's callback data
