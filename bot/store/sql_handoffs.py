"""What the customer bot's hand-offs keep (`HandoffStore`), in the SQL both stores run: a part
of `SqlStore`, like `sql_x.py`; `SqlStore` supplies the transactions and the outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.store.base import Handoff, HandoffMessage
from bot.store.tx import Tx

if TYPE_CHECKING:
    from bot.delivery.model import NewDelivery

_HANDOFF = "chat_id, locale, places, state, opened_at, updated_at, closed_by"
_MESSAGE = "id, chat_id, sender, author, text, at, reply_key, override_reason, overridden"


def _handoff(row: Sequence[Any], messages: Sequence[HandoffMessage] = ()) -> Handoff:
    return Handoff(
        chat_id=row[0],
        locale=row[1],
        places=tuple(json.loads(row[2])),
        state=row[3],
        opened_at=float(row[4]),
        updated_at=float(row[5]),
        closed_by=row[6],
        messages=tuple(messages),
    )


def _message(row: Sequence[Any]) -> HandoffMessage:
    return HandoffMessage(
        id=int(row[0]),
        chat_id=row[1],
        sender=row[2],
        author=row[3],
        text=row[4],
        at=float(row[5]),
        reply_key=row[6],
        override_reason=row[7],
        overridden=row[8],
    )


class HandoffSql:
    """The `HandoffStore` part of `SqlStore`."""

    def _transaction(self, *, brief: bool = False) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError  # SqlStore's

    async def _enqueue(self, tx: Tx, planned: Sequence[NewDelivery]) -> None:
        raise NotImplementedError  # SqlStore's

    async def handoff_open(
        self, chat_id: str, *, locale: str, places: Sequence[str], text: str, at: float
    ) -> bool:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "INSERT INTO customer_handoffs (chat_id, locale, places, state, opened_at,"
                " updated_at) VALUES (?, ?, ?, 'open', ?, ?) ON CONFLICT (chat_id) DO UPDATE"
                " SET state = 'open', locale = excluded.locale, updated_at = excluded.updated_at,"
                " closed_by = NULL WHERE customer_handoffs.state <> 'open' RETURNING chat_id",
                chat_id,
                locale,
                json.dumps(list(places)),
                at,
                at,
            )
            await self._add(tx, chat_id, "customer", None, text, at)
        return bool(rows)

    async def _add(
        self,
        tx: Tx,
        chat_id: str,
        sender: str,
        author: str | None,
        text: str,
        at: float,
        reply_key: str | None = None,
        override_reason: str | None = None,
        overridden: str | None = None,
    ) -> None:
        await tx.execute(
            "INSERT INTO customer_handoff_messages (chat_id, sender, author, text, at, reply_key,"
            " override_reason, overridden) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            chat_id,
            sender,
            author,
            text,
            at,
            reply_key,
            override_reason,
            overridden,
        )
        await tx.execute(
            "UPDATE customer_handoffs SET updated_at = ? WHERE chat_id = ?", at, chat_id
        )

    async def handoff_is_open(self, chat_id: str) -> bool:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT 1 FROM customer_handoffs WHERE chat_id = ? AND state = 'open'", chat_id
            )
        return bool(rows)

    async def handoff_customer_wrote(self, chat_id: str, text: str, at: float) -> None:
        async with self._transaction(brief=True) as tx:
            await self._add(tx, chat_id, "customer", None, text, at)

    async def handoff_reply(
        self,
        chat_id: str,
        *,
        author: str,
        text: str,
        at: float,
        reply: NewDelivery,
        override_reason: str | None = None,
        overridden: str | None = None,
    ) -> bool:
        async with self._transaction() as tx:
            rows = await tx.fetch(
                "SELECT 1 FROM customer_handoff_messages WHERE chat_id = ? AND reply_key = ?",
                chat_id,
                reply.idempotency_key,
            )
            exists = await tx.fetch("SELECT 1 FROM customer_handoffs WHERE chat_id = ?", chat_id)
            if rows or not exists:
                return False
            await self._add(
                tx,
                chat_id,
                "team",
                author,
                text,
                at,
                reply.idempotency_key,
                override_reason,
                overridden,
            )
            await self._enqueue(tx, [reply])
        return True

    async def handoff_close(self, chat_id: str, *, by: str, at: float) -> bool:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "UPDATE customer_handoffs SET state = 'closed', closed_by = ?, updated_at = ?"
                " WHERE chat_id = ? AND state = 'open' RETURNING chat_id",
                by,
                at,
                chat_id,
            )
        return bool(rows)

    async def handoffs(self, *, state: str | None = "open", limit: int = 100) -> list[Handoff]:
        where = "WHERE state = ?" if state is not None else "WHERE ? IS NULL"
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_HANDOFF} FROM customer_handoffs {where}"
                " ORDER BY updated_at DESC, chat_id LIMIT ?",
                state,
                limit,
            )
        return [_handoff(row) for row in rows]

    async def handoff(self, chat_id: str) -> Handoff | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_HANDOFF} FROM customer_handoffs WHERE chat_id = ?", chat_id
            )
            if not rows:
                return None
            messages = await tx.fetch(
                f"SELECT {_MESSAGE} FROM customer_handoff_messages WHERE chat_id = ? ORDER BY id",
                chat_id,
            )
        return _handoff(rows[0], [_message(m) for m in messages])

    async def handoff_forget(self, chat_id: str) -> int:
        async with self._transaction(brief=True) as tx:
            gone = await tx.fetch(
                "DELETE FROM customer_handoff_messages WHERE chat_id = ? RETURNING 1", chat_id
            )
            gone += await tx.fetch(
                "DELETE FROM customer_handoffs WHERE chat_id = ? RETURNING 1", chat_id
            )
        return len(gone)
