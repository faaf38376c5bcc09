"""What the X channel keeps (`XStore`), in the SQL both stores run: a part of `SqlStore`.

Its own module so the X tables' statements sit together; `SqlStore` inherits it and
supplies the transactions and the outbox it queues replies in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.store.base import XMention, XPost, XThreadState
from bot.store.tx import Tx

if TYPE_CHECKING:
    from bot.delivery.model import NewDelivery

_POST_COLUMNS = "idempotency_key, thread, post_id, text, revision, posted_at"
_MENTION_COLUMNS = (
    "post_id, author_id, author_handle, text, locale, created_at, revision, incident_ids,"
    " draft, state, reply_text, reply_revision, reply_key, handled_by, handled_at,"
    " override_reason, overridden"
)


def _post(row: Sequence[Any]) -> XPost:
    return XPost(row[0], row[1], row[2], row[3], int(row[4]), float(row[5]))


def _mention(row: Sequence[Any]) -> XMention:
    return XMention(
        post_id=row[0],
        author_id=row[1],
        author_handle=row[2],
        text=row[3],
        locale=row[4],
        created_at=dt.datetime.fromtimestamp(float(row[5]), dt.UTC),
        revision=int(row[6]),
        incident_ids=tuple(json.loads(row[7])),
        draft=row[8],
        state=row[9],
        reply_text=row[10],
        reply_revision=int(row[11]) if row[11] is not None else None,
        reply_key=row[12],
        handled_by=row[13],
        handled_at=float(row[14]) if row[14] is not None else None,
        override_reason=row[15],
        overridden=row[16],
    )


class XSql:
    """The `XStore` part of `SqlStore`."""

    def _transaction(self, *, brief: bool = False) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError  # SqlStore's

    async def _enqueue(self, tx: Tx, planned: Sequence[NewDelivery]) -> None:
        raise NotImplementedError  # SqlStore's

    async def x_record_post(self, post: XPost) -> XPost:
        async with self._transaction(brief=True) as tx:
            await tx.execute(
                f"INSERT INTO x_posts ({_POST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                post.idempotency_key,
                post.thread,
                post.post_id,
                post.text,
                post.revision,
                post.posted_at,
            )
            rows = await tx.fetch(
                f"SELECT {_POST_COLUMNS} FROM x_posts WHERE idempotency_key = ?",
                post.idempotency_key,
            )
        return _post(rows[0])

    async def x_post_of(self, idempotency_key: str) -> XPost | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_POST_COLUMNS} FROM x_posts WHERE idempotency_key = ?", idempotency_key
            )
        return _post(rows[0]) if rows else None

    async def x_thread_tip(self, thread: str) -> XPost | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_POST_COLUMNS} FROM x_posts WHERE thread = ? ORDER BY id DESC LIMIT 1",
                thread,
            )
        return _post(rows[0]) if rows else None

    async def x_posts_with_text(self, text: str) -> list[XPost]:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_POST_COLUMNS} FROM x_posts WHERE text = ? ORDER BY id", text
            )
        return [_post(row) for row in rows]

    async def x_cursor(self, name: str) -> str | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch("SELECT value FROM x_cursor WHERE name = ?", name)
        return str(rows[0][0]) if rows else None

    async def x_add_mentions(
        self, mentions: Sequence[XMention], *, cursor: tuple[str, str] | None = None
    ) -> list[XMention]:
        added = []
        async with self._transaction() as tx:
            for m in mentions:
                rows = await tx.fetch(
                    "INSERT INTO x_mentions (post_id, author_id, author_handle, text, locale,"
                    " created_at, revision, incident_ids, draft, state)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (post_id) DO NOTHING RETURNING id",
                    m.post_id,
                    m.author_id,
                    m.author_handle,
                    m.text,
                    m.locale,
                    m.created_at.timestamp(),
                    m.revision,
                    json.dumps(list(m.incident_ids)),
                    m.draft,
                    m.state,
                )
                if rows:
                    added.append(m)
            if cursor is not None:
                await tx.execute(
                    "INSERT INTO x_cursor (name, value) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    *cursor,
                )
        return added

    async def x_mentions(self, *, limit: int = 100, state: str | None = None) -> list[XMention]:
        condition = "" if state is None else " WHERE state = ?"
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_MENTION_COLUMNS} FROM x_mentions{condition}"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                *([] if state is None else [state]),
                limit,
            )
        return [_mention(row) for row in rows]

    async def x_mention(self, post_id: str) -> XMention | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_MENTION_COLUMNS} FROM x_mentions WHERE post_id = ?", post_id
            )
        return _mention(rows[0]) if rows else None

    async def x_handle_mention(
        self,
        post_id: str,
        *,
        state: str,
        by: str,
        at: float,
        reply: NewDelivery | None = None,
        reply_text: str | None = None,
        override_reason: str | None = None,
        overridden: str | None = None,
    ) -> bool:
        async with self._transaction() as tx:
            if reply is not None and await tx.fetch(
                # Its key queued already (an auto-reply to this person about this incident at
                # this revision): the mention stays for a person to handle.
                "SELECT 1 FROM deliveries WHERE channel = ? AND target = ? AND incident_id = ?"
                " AND revision = ? LIMIT 1",
                reply.channel,
                reply.target,
                reply.incident_id,
                reply.revision,
            ):
                return False
            rows = await tx.fetch(
                "UPDATE x_mentions SET state = ?, handled_by = ?, handled_at = ?,"
                " reply_text = ?, reply_revision = ?, reply_key = ?, override_reason = ?,"
                " overridden = ? WHERE post_id = ? AND state = 'new' RETURNING id",
                state,
                by,
                at,
                reply_text,
                reply.revision if reply is not None else None,
                reply.idempotency_key if reply is not None else None,
                override_reason,
                overridden,
                post_id,
            )
            if not rows:
                return False
            if reply is not None:
                await self._enqueue(tx, [reply])
        return True

    async def x_threads(self) -> list[XThreadState]:
        async with self._transaction() as tx:
            # Failed counts until a later post of that thread went out (as the audit does).
            waiting = await tx.fetch(
                "SELECT d.target, d.state, d.last_error, d.status FROM deliveries d"
                " WHERE d.channel = 'x' AND d.target LIKE 'post:%'"
                " AND (d.state IN ('pending', 'sending') OR (d.state = 'failed'"
                "   AND NOT EXISTS (SELECT 1 FROM x_posts p WHERE p.thread = d.target"
                "   AND p.revision > d.revision)))"
                " ORDER BY d.id"
            )
            posted = await tx.fetch(
                "SELECT thread, max(revision), max(posted_at) FROM x_posts"
                " WHERE thread LIKE 'post:%' GROUP BY thread"
            )
        threads: dict[str, dict[str, Any]] = {}

        def of(thread: str) -> dict[str, Any]:
            return threads.setdefault(
                thread,
                {"pending": 0, "failed": 0, "error": None, "statuses": [], "rev": None, "at": None},
            )

        for target, state, error, status in waiting:
            entry = of(target)
            if state == "failed":
                entry["failed"] += 1
            else:
                entry["pending"] += 1
                entry["statuses"].append(status)
            entry["error"] = error or entry["error"]
        for thread, revision, posted_at in posted:
            entry = of(thread)
            entry["rev"], entry["at"] = int(revision), float(posted_at)
        return [
            XThreadState(
                thread=name,
                pending=e["pending"],
                failed=e["failed"],
                last_error=e["error"],
                waiting_statuses=tuple(e["statuses"]),
                last_revision=e["rev"],
                last_posted_at=e["at"],
            )
            for name, e in sorted(threads.items())
        ]

    async def x_newer_waiting(self, target: str, delivery_id: int) -> bool:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT 1 FROM deliveries WHERE channel = 'x' AND target = ?"
                " AND state IN ('pending', 'sending') AND id > ? LIMIT 1",
                target,
                delivery_id,
            )
        return bool(rows)
