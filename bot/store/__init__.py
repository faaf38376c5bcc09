"""Where revisions, the outbox, the ledger and subscriptions live: SQLite or PostgreSQL.

The contract (`bot.store.base`) is split by concern — `RevisionStore`, `OutboxStore`,
`SubscriptionStore` — and `Store` is all three; both backends implement it with the
same SQL (`bot.store.sql`) and pass the same contract tests.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.store.base import (
    Acknowledgement,
    AlertMessage,
    ChannelFigures,
    ChatMove,
    Handoff,
    HandoffMessage,
    HandoffStore,
    LedgerEntry,
    OutboxStore,
    PendingEscalation,
    Place,
    PlaceCount,
    PlaceKind,
    RevisionRecord,
    RevisionStore,
    Store,
    StoreError,
    Subscription,
    SubscriptionStore,
    TelegramStore,
    XMention,
    XPost,
    XStore,
    XThreadState,
    document_hash,
)
from bot.store.sqlite import SqliteStore

__all__ = [
    "Acknowledgement",
    "AlertMessage",
    "ChannelFigures",
    "ChatMove",
    "Handoff",
    "HandoffMessage",
    "HandoffStore",
    "LedgerEntry",
    "OutboxStore",
    "PendingEscalation",
    "Place",
    "PlaceCount",
    "PlaceKind",
    "RevisionRecord",
    "RevisionStore",
    "SqliteStore",
    "Store",
    "StoreError",
    "Subscription",
    "SubscriptionStore",
    "TelegramStore",
    "XMention",
    "XPost",
    "XStore",
    "XThreadState",
    "document_hash",
    "open_store",
]


def open_store(url: str) -> Store:
    """A store for `url` (not yet opened): `sqlite:///relative.db`, `sqlite:////abs.db`,
    `sqlite:///:memory:`, `postgresql://user@host:5432/db`."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise StoreError(f"a SQLite URL looks like sqlite:///unavoz.db, not {url!r}")
        return SqliteStore(path[1:] or ":memory:")
    if scheme in ("postgresql", "postgres"):
        from bot.store.postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(
        f"unknown database URL {url!r}: use sqlite:///unavoz.db or postgresql://host/db"
    )
