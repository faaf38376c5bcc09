"""One accepted revision, compiled: the feed, its statements, its lookup, rendering by channel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.feed.loader import LoadedFeed
from bot.feed.lookup import Lookup
from bot.feed.models import Feed, Incident
from bot.statement import Statement, StatementKey, build_statements
from bot.store import RevisionRecord
from channels import RENDERERS


@dataclass(frozen=True)
class FeedState:
    revision: RevisionRecord
    loaded: LoadedFeed
    statements: dict[StatementKey, Statement]
    lookup: Lookup
    _rendered: dict[tuple[str, str, str, dt.datetime], str] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def build(cls, loaded: LoadedFeed, revision: RevisionRecord) -> FeedState:
        return cls(
            revision=revision,
            loaded=loaded,
            statements=build_statements(loaded.feed, revision.number),
            lookup=Lookup(loaded.feed),
        )

    @property
    def feed(self) -> Feed:
        return self.loaded.feed

    def statement(self, incident_id: str, locale: str | None = None) -> Statement:
        return self.statements[(incident_id, locale or self.feed.organization.default_locale)]

    def render(self, channel: str, incident: Incident | str, locale: str, now: dt.datetime) -> str:
        """The channel's text for an incident; cached per minute (relative times move with now)."""
        incident_id = incident if isinstance(incident, str) else incident.id
        minute = now.replace(second=0, microsecond=0)
        key = (channel, incident_id, locale, minute)
        text = self._rendered.get(key)
        if text is None:
            overrides = self.feed.channels.get(channel).templates
            text = RENDERERS[channel].render(self.statement(incident_id, locale), now, overrides)
            if len(self._rendered) > 10_000:
                self._rendered.clear()
            self._rendered[key] = text
        return text
