"""One accepted revision, compiled: the feed, its statements, its lookup, rendering by channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from bot.feed.loader import LoadedFeed
from bot.feed.lookup import Lookup
from bot.feed.models import Area, Feed, Incident, Service
from bot.render.renderer import ChannelRenderer
from bot.statement import Statement, StatementKey, build_statement, renumbered
from bot.store import RevisionRecord


class Statements(Mapping[StatementKey, Statement]):
    """Every incident × declared locale of one revision, each made the first time it is
    asked for — a revision changing one incident of thousands makes the statements the
    channels tell of that one, not of all — and kept. An incident the `previous`
    revision had as it is (with the same organization, services and areas) keeps the
    statements made there, renumbered: the same as made anew (`build_statements`)."""

    def __init__(self, feed: Feed, revision: int, previous: Statements | None = None) -> None:
        self._feed = feed
        self._revision = revision
        self._incidents = {incident.id: incident for incident in feed.incidents}
        self._locales = tuple(dict.fromkeys(feed.organization.locales))
        self._made: dict[StatementKey, Statement] = {}
        self._names: tuple[dict[str, Service], dict[str, Area]] | None = None
        # Only the previous revision's statements and incidents, not the revision itself:
        # a chain of revisions each holding the one before would never be freed.
        self._earlier: tuple[dict[StatementKey, Statement], dict[str, Incident]] | None = None
        if previous is not None and _same_frame(previous._feed, feed):
            self._earlier = (previous._made, previous._incidents)

    def __getitem__(self, key: StatementKey) -> Statement:
        made = self._made.get(key)
        if made is not None:
            return made
        incident_id, locale = key
        incident = self._incidents.get(incident_id)
        if incident is None or locale not in self._locales:
            raise KeyError(key)
        made = self._reused(key, incident) or self._build(incident, locale)
        self._made[key] = made
        if len(self._made) == len(self):
            self._earlier = None  # all made: the previous revision's may go
        return made

    def _reused(self, key: StatementKey, incident: Incident) -> Statement | None:
        if self._earlier is None:
            return None
        statements, incidents = self._earlier
        earlier = statements.get(key)
        if earlier is None:
            return None
        before = incidents.get(key[0])
        if before is not incident and before != incident:
            return None
        return renumbered(earlier, self._revision)

    def _build(self, incident: Incident, locale: str) -> Statement:
        if self._names is None:
            self._names = (
                {s.id: s for s in self._feed.services},
                {a.id: a for a in self._feed.areas},
            )
        services, areas = self._names
        return build_statement(
            self._feed, incident, locale, self._revision, services=services, areas=areas
        )

    def __iter__(self) -> Iterator[StatementKey]:
        return ((i, locale) for i in self._incidents for locale in self._locales)

    def __len__(self) -> int:
        return len(self._incidents) * len(self._locales)

    def __contains__(self, key: object) -> bool:
        return (
            isinstance(key, tuple)
            and len(key) == 2
            and key[0] in self._incidents
            and key[1] in self._locales
        )


def _same_frame(before: Feed, after: Feed) -> bool:
    """The same facts around the incidents, as a statement tells them."""
    return (
        before.organization == after.organization
        and before.services == after.services
        and before.areas == after.areas
    )


@dataclass(frozen=True)
class FeedState:
    revision: RevisionRecord
    loaded: LoadedFeed
    statements: Mapping[StatementKey, Statement]
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
        previous: FeedState | None = None,
    ) -> FeedState:
        """The state of `revision`; what `previous` made for the parts of the feed it had as
        they are is reused (the same as made anew)."""
        if renderers is None:
            from bot.registry import default_registry  # the channels, asked for at start

            renderers = default_registry().renderers
        earlier = previous.statements if previous is not None else None
        return cls(
            revision=revision,
            loaded=loaded,
            statements=Statements(
                loaded.feed,
                revision.number,
                earlier if isinstance(earlier, Statements) else None,
            ),
            lookup=previous.lookup.updated(loaded.feed) if previous else Lookup(loaded.feed),
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
