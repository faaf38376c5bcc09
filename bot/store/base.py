"""The store's contract: revisions now, the outbox and ledger later; every backend obeys it."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self


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
        before_commit: BeforeCommit | None = None,
    ) -> tuple[RevisionRecord, bool]:
        """Record `document` as the next revision unless it equals the latest one.

        One write transaction: the latest revision is read, compared by hash, and the
        new one inserted; `before_commit` runs inside it (to write the YAML file only
        when the revision is recorded) and, if it raises, nothing is recorded.
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
