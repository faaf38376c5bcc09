"""The store's contract: revisions now, the outbox and ledger later; every backend obeys it."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:
    from bot.delivery.model import Delivery, Limit, NewDelivery, Outcome
    from bot.store.sql import Callback, ChannelFigures, LedgerEntry


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, unreachable database…)."""


@dataclass(frozen=True, slots=True)
class RevisionRecord:
    number: int
    content_hash: str
    author: str
    source: str
    created_at: dt.datetime
    document: str


BeforeCommit = Callable[[RevisionRecord], Awaitable[None]]
# Given the latest revision before this one (None for the first) and the new one, the
# deliveries the new revision needs; run inside the revision's transaction.
Planner = Callable[[RevisionRecord | None, RevisionRecord], Awaitable[Sequence["NewDelivery"]]]


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class Store(Protocol):
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def record_revision(
        self,
        document: str,
        *,
        author: str,
        source: str,
        plan: Planner | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> tuple[RevisionRecord, bool]:
        """Record `document` as the next revision unless it equals the latest one.

        One write transaction: the latest revision is read, compared by hash, the new
        one inserted with the deliveries `plan` returns (superseding stale ones), and
        `before_commit` run (to write the YAML file only when the revision is
        recorded); if anything raises, nothing is recorded.
        Returns the current revision and whether it was created now.
        """
        ...

    async def latest_revision(self) -> RevisionRecord | None: ...

    async def get_revision(self, number: int) -> RevisionRecord | None: ...

    async def list_revisions(
        self, *, limit: int = 50, before: int | None = None
    ) -> list[RevisionRecord]:
        """Newest first."""
        ...

    async def claim_deliveries(
        self,
        channel: str,
        *,
        instance: str,
        limit: int,
        lease: float,
        limits: Sequence[Limit] = (),
        now: float | None = None,
        finished: Sequence[Outcome] = (),
        share: float = 1.0,
    ) -> list[Delivery]: ...

    async def finish_deliveries(self, outcomes: Sequence[Outcome], *, instance: str) -> None: ...

    async def release_claims(self, *, instance: str | None = None) -> int: ...

    async def next_attempt_at(self, channel: str) -> float | None: ...

    async def prune_send_log(self, *, now: float | None = None) -> None: ...

    async def ledger(self, channel: str | None = None) -> list[LedgerEntry]: ...

    async def channel_figures(self) -> list[ChannelFigures]: ...

    async def delivery_counts(self) -> dict[str, int]: ...

    async def add_callbacks(
        self, phone: str, postcode: str, locale: str, incident_ids: Sequence[str]
    ) -> int: ...

    async def queue_callbacks(
        self, incident_ids: Sequence[str], make: Callable[[Callback], NewDelivery]
    ) -> int: ...
