"""One accepted revision, compiled: the feed, its statements, its lookup, rendering by channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.feed.loader import LoadedFeed
from bot.feed.lookup import Lookup
from bot.feed.models import Feed, Incident
from bot.render.renderer import ChannelRenderer
from bot.statement import Statement, StatementKey, build_statements
from bot.store import RevisionRecord


@dataclass(frozen=True)
class FeedState:
    revision: RevisionRecord
    loaded: LoadedFeed
    statements: dict[StatementKey, Statement]
    lookup: Lookup
    # The channels' voices, by name (the registry's, unless a test gives its own).
    renderers: Mapping[str, ChannelRenderer] = field(repr=False, compare=False)
    _rendered: dict[tuple[str, str, str, dt.datetime], str] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        loaded: LoadedFeed,
        revision: RevisionRecord,
        renderers: Mapping[str, ChannelRenderer] | None = None,
    ) -> FeedState:
        if renderers is None:
            from bot.registry import default_registry  # the channels, asked for at start

            renderers = default_registry().renderers
        return cls(
            revision=revision,
            loaded=loaded,
            statements=build_statements(loaded.feed, revision.number),
            lookup=Lookup(loaded.feed),
            renderers=renderers,
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
            text = self.renderers[channel].render(
                self.statement(incident_id, locale), now, overrides
            )
            if len(self._rendered) > 10_000:
                self._rendered.clear()
            self._rendered[key] = text
        return text
