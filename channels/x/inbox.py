"""The mentions inbox: each mention kept with its matched incidents and a draft; replying.

A reply — the draft as it is, or as a community manager edited it — is checked by the
claims lint against the current feed; a reply it blocks is refused with the findings
unless sent with an override and its reason, both kept with the mention. The reply is
queued in the outbox in the same transaction that marks the mention handled (so it is
sent once, however often the button is pressed), as a delivery of the current revision:
the ledger then says which revision it told. Auto-reply does the same for a mention
that matches exactly one open incident unambiguously, at most once per person,
incident and revision.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.channel import options_of
from bot.claims import LintResult, ReplyBlocked, gate_reply, lint_reply
from bot.delivery.model import NewDelivery
from bot.inbound import Inbound, Mention
from bot.service import FeedService
from bot.state import FeedState
from bot.store import XMention, XStore
from channels.x import mentions
from channels.x.options import XOptions
from channels.x.posts import MAX_LENGTH, Payload
from channels.x.renderer import x_length

log = logging.getLogger(__name__)

MAX_KEPT = 10_000  # characters of a mention kept (X's long posts run to 25,000)


class ReplyRefused(Exception):
    """A reply that cannot go: `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


@dataclass
class Inbox:
    store: XStore
    service: FeedService
    wake: Callable[[], None] = lambda: None

    @property
    def state(self) -> FeedState:
        return self.service.state

    # Receiving ---------------------------------------------------------------------------

    async def receive(self, event: Inbound) -> None:
        """A mention polled from X: matched, drafted, kept; auto-replied if the feed says so."""
        if not isinstance(event, Mention):
            return
        state = self.state
        now = self.service.clock()
        found = mentions.match(state, event.text, now)
        mention = XMention(
            post_id=event.post_id,
            author_id=event.person.id,
            author_handle=event.author_handle,
            text=event.text[:MAX_KEPT],
            locale=found.locale,
            created_at=event.at,
            revision=state.revision.number,
            incident_ids=tuple(i.id for i in found.incidents),
            draft=mentions.draft(state, found, event.author_handle, now),
        )
        added = await self.store.x_add_mentions([mention])
        if added and found.unambiguous_one and options_of(state.feed, "x", XOptions).auto_reply:
            await self._auto_reply(mention)

    async def _auto_reply(self, mention: XMention) -> None:
        state = self.state
        incident = mention.incident_ids[0]
        delivery = self._delivery(
            state, mention, mention.draft, target=f"auto:{mention.author_id}", priority=False
        )
        if delivery.incident_id != incident:
            return
        lint = lint_reply(mention.draft, state.feed, self.service.clock(), incident=incident)
        if not lint.ok:  # the feed's own words should pass; a person looks if not
            log.warning("auto-reply to %s held: the lint blocks its draft", mention.post_id)
            return
        handled = await self.store.x_handle_mention(
            mention.post_id,
            state="auto_replied",
            by="auto-reply",
            at=self.service.clock().timestamp(),
            reply=delivery,
            reply_text=mention.draft,
        )
        if handled:
            self.wake()

    # What the console and the API show ---------------------------------------------------

    def current_draft(self, mention: XMention) -> str:
        """The draft from the feed as it is now (the one kept was made when it arrived)."""
        if mention.revision == self.state.revision.number:
            return mention.draft
        now = self.service.clock()
        found = mentions.match(self.state, mention.text, now)
        return mentions.draft(self.state, found, mention.author_handle, now)

    def as_json(self, mention: XMention) -> dict[str, Any]:
        feed = self.state.feed
        matched = [
            {"id": i, "title": self.state.statement(i, mention.locale).title}
            for i in mention.incident_ids
            if feed.incident(i) is not None
        ]
        return {
            "id": mention.post_id,
            "author": {"id": mention.author_id, "handle": mention.author_handle},
            "text": mention.text,
            "locale": mention.locale,
            "created_at": mention.created_at.isoformat(),
            "incidents": matched,
            "draft": self.current_draft(mention) if mention.state == "new" else mention.draft,
            "state": mention.state,
            "reply": None
            if mention.reply_text is None
            else {
                "text": mention.reply_text,
                "revision": mention.reply_revision,
                "by": mention.handled_by,
                "override_reason": mention.override_reason,
                "overridden": json.loads(mention.overridden) if mention.overridden else None,
            },
            "handled_by": mention.handled_by,
        }

    # Replying ----------------------------------------------------------------------------

    async def reply(
        self,
        post_id: str,
        text: str | None,
        *,
        author: str,
        override_reason: str | None = None,
    ) -> XMention:
        """Send a reply to mention `post_id` (`text` None: the draft). Raises ReplyRefused."""
        mention = await self._new(post_id)
        state = self.state
        now = self.service.clock()
        text = (text if text is not None else self.current_draft(mention)).strip()
        if not text:
            raise ReplyRefused(422, "the reply is empty")
        if x_length(text) > MAX_LENGTH:
            raise ReplyRefused(422, f"the reply is {x_length(text)} characters; X takes 280")
        incident = mention.incident_ids[0] if len(mention.incident_ids) == 1 else None
        if incident is not None and state.feed.incident(incident) is None:
            incident = None
        try:
            lint, record = gate_reply(
                text,
                state.feed,
                now,
                author=author,
                override_reason=override_reason,
                incident=incident,
            )
        except ReplyBlocked as exc:
            details = {"lint": exc.lint.as_json()} if exc.lint is not None else {}
            raise ReplyRefused(422, str(exc), **details) from exc
        overridden = record.findings_json() if record is not None else None
        delivery = self._delivery(state, mention, text, target=f"mention:{post_id}", lint=lint)
        handled = await self.store.x_handle_mention(
            post_id,
            state="replied",
            by=author,
            at=now.timestamp(),
            reply=delivery,
            reply_text=text,
            override_reason=override_reason if overridden else None,
            overridden=overridden,
        )
        if not handled:
            raise ReplyRefused(409, f"mention {post_id} was handled already")
        self.wake()
        done = await self.store.x_mention(post_id)
        assert done is not None
        return done

    async def dismiss(self, post_id: str, *, author: str) -> XMention:
        """Mark a mention as not about an incident: no reply."""
        await self._new(post_id)
        now = self.service.clock().timestamp()
        if not await self.store.x_handle_mention(post_id, state="dismissed", by=author, at=now):
            raise ReplyRefused(409, f"mention {post_id} was handled already")
        done = await self.store.x_mention(post_id)
        assert done is not None
        return done

    async def _new(self, post_id: str) -> XMention:
        mention = await self.store.x_mention(post_id)
        if mention is None:
            raise ReplyRefused(404, f"no mention {post_id}")
        if mention.state != "new":
            raise ReplyRefused(409, f"mention {post_id} was handled already ({mention.state})")
        return mention

    def _delivery(
        self,
        state: FeedState,
        mention: XMention,
        text: str,
        *,
        target: str,
        lint: LintResult | None = None,
        priority: bool = True,
    ) -> NewDelivery:
        """The reply as a delivery of the current revision, about the incident it tells."""
        told = [i for i in mention.incident_ids if state.feed.incident(i) is not None]
        if lint is not None and lint.incidents:
            told = [i for i in lint.incidents if state.feed.incident(i) is not None] or told
        incident = state.feed.incident(told[0]) if told else None
        return NewDelivery(
            revision=state.revision.number,
            incident_id=incident.id if incident is not None else "",
            channel="x",
            target=target,
            status=incident.status.value if incident is not None else "reply",
            fingerprint=state.statement(incident.id).facts_fingerprint()
            if incident is not None
            else "-",
            payload=Payload(text, in_reply_to=mention.post_id, priority=priority).dumps(),
        )
