"""The gate every reply a person writes goes through: passes, blocks, or goes overridden."""

from __future__ import annotations

import pytest

from bot.claims import ReplyBlocked, gate_reply
from bot.feed.models import Feed
from tests.claims.conftest import EXAMPLE_NOON


def test_a_reply_the_feed_agrees_with_passes(example_feed: Feed) -> None:
    result, record = gate_reply(
        "Seguimos trabajando en ello, sentimos las molestias.",
        example_feed,
        EXAMPLE_NOON,
        author="ana",
        incident="ser-renewal-down",
    )
    assert result.ok and record is None


def test_a_contradicting_reply_is_blocked_unless_overridden_with_a_reason(
    example_feed: Feed,
) -> None:
    text = "Ya está solucionado 👍"
    with pytest.raises(ReplyBlocked) as blocked:
        gate_reply(text, example_feed, EXAMPLE_NOON, author="ana", incident="ser-renewal-down")
    assert blocked.value.lint is not None and not blocked.value.lint.ok
    with pytest.raises(ReplyBlocked, match="reason"):
        gate_reply(
            text,
            example_feed,
            EXAMPLE_NOON,
            author="ana",
            override_reason="ok",
            incident="ser-renewal-down",
        )
    _, record = gate_reply(
        text,
        example_feed,
        EXAMPLE_NOON,
        author="ana",
        override_reason="the crew called: fixed at 11:55",
        incident="ser-renewal-down",
    )
    assert record is not None and '"kind": "resolved"' in record.findings_json()


def test_bad_input_is_blocked_without_findings(example_feed: Feed) -> None:
    with pytest.raises(ReplyBlocked) as blocked:
        gate_reply("   ", example_feed, EXAMPLE_NOON, author="ana")
    assert blocked.value.lint is None
