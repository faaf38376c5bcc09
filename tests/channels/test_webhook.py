"""The webhook channel on its own: what a target that is no URL comes to."""

from __future__ import annotations

import pytest

from bot.delivery.model import Delivery, PermanentError
from channels.webhook import WebhookAdapter


@pytest.mark.parametrize("target", ["http://[::1", "not a url", "ftp://example.org/x", ""])
async def test_a_target_that_is_no_web_address_fails_for_good(target: str) -> None:
    delivery = Delivery(1, "k" * 32, 1, "i1", "webhook", target, "identified", "f", "{}", 1)
    async with WebhookAdapter(secret="s") as channel:
        with pytest.raises(PermanentError, match="not a URL"):
            await channel.deliver(delivery)
