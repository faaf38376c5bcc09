"""The Telegram part of the store (`TelegramStore`), in the SQL both SQLite and PostgreSQL run.

A mixin of `SqlStore`, which supplies the transactions and the outbox's `_enqueue`:
an escalation's step and its messages are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from bot.store.base import Acknowledgement, AlertMessage, ChatMove, PendingEscalation
from bot.store.tx import Tx

if TYPE_CHECKING:
    from bot.delivery.model import NewDelivery

_ALERT_COLUMNS = (
    "target, message_id, chat_id, incident_id, revision, group_id, kind, delivery_key, text,"
    " sent_at, superseded_by"
)
_ACK_COLUMNS = "target, message_id, user_id, user_name, group_id, incident_id, revision, at, stale"
_ESCALATION_COLUMNS = "target, incident_id, revision, group_id, due_at, stage"
# Stages of an escalation: waiting, repeated in its group, escalated, over.
WAITING, REPEATED, ESCALATED, OVER = 0, 1, 2, 3


def _alert(row: Sequence[Any]) -> AlertMessage:
    return AlertMessage(
        row[0],
        int(row[1]),
        row[2],
        row[3],
        int(row[4]),
        row[5],
        row[6],
        row[7],
        row[8],
        float(row[9]),
        int(row[10]) if row[10] is not None else None,
    )


def _ack(row: Sequence[Any]) -> Acknowledgement:
    return Acknowledgement(
        row[0],
        int(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        int(row[6]),
        float(row[7]),
        bool(row[8]),
    )


def _escalation(row: Sequence[Any]) -> PendingEscalation:
    return PendingEscalation(row[0], row[1], int(row[2]), row[3], float(row[4]), int(row[5]))


class TelegramSql:
    """`TelegramStore` for `SqlStore` (which overrides the two hooks below)."""

    def _transaction(self, *, brief: bool = False) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError

    async def _enqueue(self, tx: Tx, planned: Sequence[NewDelivery]) -> None:
        raise NotImplementedError

    # getUpdates offsets --------------------------------------------------------------------

    async def update_offset(self, bot: str) -> int | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch("SELECT next_update_id FROM telegram_offsets WHERE bot = ?", bot)
        return int(rows[0][0]) if rows else None

    async def save_update_offset(self, bot: str, next_update_id: int) -> None:
        async with self._transaction(brief=True) as tx:
            await tx.execute(
                "INSERT INTO telegram_offsets (bot, next_update_id) VALUES (?, ?)"
                " ON CONFLICT (bot) DO UPDATE SET next_update_id = excluded.next_update_id"
                " WHERE telegram_offsets.next_update_id < excluded.next_update_id",
                bot,
                next_update_id,
            )

    # Alerts --------------------------------------------------------------------------------

    async def record_alert(
        self, alert: AlertMessage, *, escalate_at: float | None = None
    ) -> AlertMessage:
        async with self._transaction(brief=True) as tx:
            inserted = await tx.fetch(
                f"INSERT INTO telegram_alerts ({_ALERT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (delivery_key) DO NOTHING RETURNING 1",
                alert.target,
                alert.message_id,
                alert.chat_id,
                alert.incident_id,
                alert.revision,
                alert.group_id,
                alert.kind,
                alert.delivery_key,
                alert.text,
                alert.sent_at,
                alert.superseded_by,
            )
            if not inserted:
                rows = await tx.fetch(
                    f"SELECT {_ALERT_COLUMNS} FROM telegram_alerts WHERE delivery_key = ?",
                    alert.delivery_key,
                )
                return _alert(rows[0])
            if alert.kind == "alert":
                # A newer alert is what counts now: the older ones escalate no more.
                await tx.execute(
                    "UPDATE telegram_escalations SET stage = ? WHERE target = ?"
                    " AND incident_id = ? AND revision < ? AND stage < ?",
                    OVER,
                    alert.target,
                    alert.incident_id,
                    alert.revision,
                    OVER,
                )
                if escalate_at is not None:
                    await tx.execute(
                        f"INSERT INTO telegram_escalations ({_ESCALATION_COLUMNS})"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        alert.target,
                        alert.incident_id,
                        alert.revision,
                        alert.group_id,
                        escalate_at,
                        WAITING,
                    )
        return alert

    async def alert_of_delivery(self, delivery_key: str) -> AlertMessage | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_ALERT_COLUMNS} FROM telegram_alerts WHERE delivery_key = ?",
                delivery_key,
            )
        return _alert(rows[0]) if rows else None

    async def alert_message(self, target: str, message_id: int) -> AlertMessage | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_ALERT_COLUMNS} FROM telegram_alerts WHERE target = ? AND message_id = ?",
                target,
                message_id,
            )
        return _alert(rows[0]) if rows else None

    async def alerts_to_supersede(
        self, target: str, incident_id: str, revision: int
    ) -> list[AlertMessage]:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_ALERT_COLUMNS} FROM telegram_alerts WHERE incident_id = ?"
                " AND target = ? AND revision < ? AND kind IN ('alert', 'repeat')"
                " AND superseded_by IS NULL ORDER BY message_id",
                incident_id,
                target,
                revision,
            )
        return [_alert(row) for row in rows]

    async def mark_superseded(self, target: str, message_ids: Sequence[int], by: int) -> None:
        async with self._transaction(brief=True) as tx:
            await tx.executemany(
                "UPDATE telegram_alerts SET superseded_by = ? WHERE target = ? AND message_id = ?",
                [(by, target, message_id) for message_id in message_ids],
            )

    async def latest_alerts(self, incident_id: str) -> list[AlertMessage]:
        async with self._transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {_ALERT_COLUMNS} FROM telegram_alerts a WHERE a.incident_id = ?"
                " AND a.kind = 'alert' AND a.revision = (SELECT max(b.revision)"
                "   FROM telegram_alerts b WHERE b.incident_id = a.incident_id"
                "   AND b.target = a.target AND b.kind = 'alert')"
                " ORDER BY a.group_id, a.target",
                incident_id,
            )
        return [_alert(row) for row in rows]

    # Acknowledgements ----------------------------------------------------------------------

    async def record_ack(
        self, target: str, message_id: int, *, user_id: str, user_name: str, at: float
    ) -> tuple[Acknowledgement, list[Acknowledgement]] | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_ALERT_COLUMNS} FROM telegram_alerts"
                " WHERE target = ? AND message_id = ? AND kind IN ('alert', 'repeat')",
                target,
                message_id,
            )
            if not rows:
                return None
            alert = _alert(rows[0])
            newer = await tx.fetch(
                "SELECT 1 FROM telegram_alerts WHERE incident_id = ? AND target = ?"
                " AND revision > ? AND kind IN ('alert', 'repeat') LIMIT 1",
                alert.incident_id,
                target,
                alert.revision,
            )
            stale = bool(newer)
            await tx.execute(
                f"INSERT INTO telegram_acks ({_ACK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (target, message_id, user_id) DO NOTHING",
                target,
                message_id,
                user_id,
                user_name,
                alert.group_id,
                alert.incident_id,
                alert.revision,
                at,
                stale,
            )
            if not stale:
                await tx.execute(
                    "UPDATE telegram_escalations SET stage = ? WHERE target = ?"
                    " AND incident_id = ? AND revision = ? AND stage < ?",
                    OVER,
                    target,
                    alert.incident_id,
                    alert.revision,
                    ESCALATED,
                )
            acks = [
                _ack(row)
                for row in await tx.fetch(
                    f"SELECT {_ACK_COLUMNS} FROM telegram_acks WHERE target = ?"
                    " AND message_id = ? ORDER BY at, user_id",
                    target,
                    message_id,
                )
            ]
        mine = next(a for a in acks if a.user_id == user_id)
        return mine, acks

    async def acks_for(self, incident_id: str) -> list[Acknowledgement]:
        async with self._transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {_ACK_COLUMNS} FROM telegram_acks WHERE incident_id = ?"
                " ORDER BY at, target, user_id",
                incident_id,
            )
        return [_ack(row) for row in rows]

    # Escalations ---------------------------------------------------------------------------

    async def due_escalations(self, now: float) -> list[PendingEscalation]:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                f"SELECT {_ESCALATION_COLUMNS} FROM telegram_escalations"
                " WHERE stage IN (?, ?) AND due_at <= ? ORDER BY due_at, target",
                WAITING,
                REPEATED,
                now,
            )
        return [_escalation(row) for row in rows]

    async def advance_escalation(
        self,
        pending: PendingEscalation,
        *,
        stage: int,
        due_at: float,
        deliveries: Sequence[NewDelivery],
    ) -> bool:
        async with self._transaction() as tx:
            moved = await tx.fetch(
                "UPDATE telegram_escalations SET stage = ?, due_at = ? WHERE target = ?"
                " AND incident_id = ? AND revision = ? AND stage = ?"
                " AND NOT EXISTS (SELECT 1 FROM telegram_acks a WHERE a.target = ?"
                "   AND a.incident_id = ? AND a.revision = ? AND NOT a.stale)"
                " RETURNING 1",
                stage,
                due_at,
                pending.target,
                pending.incident_id,
                pending.revision,
                pending.stage,
                pending.target,
                pending.incident_id,
                pending.revision,
            )
            if not moved:
                return False
            await self._enqueue(tx, deliveries)
        return True

    # Migrated chats ------------------------------------------------------------------------

    async def move_chat(
        self, target: str, moved_to: str, at: float, *, warnings: Sequence[NewDelivery] = ()
    ) -> bool:
        async with self._transaction() as tx:
            news = await tx.fetch(
                "INSERT INTO telegram_chat_moves (target, moved_to, at) VALUES (?, ?, ?)"
                " ON CONFLICT (target) DO UPDATE SET moved_to = excluded.moved_to,"
                " at = excluded.at WHERE telegram_chat_moves.moved_to <> excluded.moved_to"
                " RETURNING 1",
                target,
                moved_to,
                at,
            )
            if news:
                await self._enqueue(tx, warnings)
        return bool(news)

    async def chat_moves(self) -> dict[str, str]:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch("SELECT target, moved_to FROM telegram_chat_moves")
        return {row[0]: row[1] for row in rows}

    async def moved_chats(self) -> list[ChatMove]:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT target, moved_to, at FROM telegram_chat_moves ORDER BY target"
            )
        return [ChatMove(row[0], row[1], float(row[2])) for row in rows]

    # The operators' conversations --------------------------------------------------------

    async def operator_draft(self, chat_id: str, user_id: str) -> tuple[str, float] | None:
        async with self._transaction(brief=True) as tx:
            rows = await tx.fetch(
                "SELECT body, updated_at FROM operator_drafts WHERE chat_id = ? AND user_id = ?",
                chat_id,
                user_id,
            )
        return (str(rows[0][0]), float(rows[0][1])) if rows else None

    async def save_operator_draft(
        self, chat_id: str, user_id: str, body: str, *, at: float, expire_before: float
    ) -> None:
        async with self._transaction(brief=True) as tx:
            await tx.execute("DELETE FROM operator_drafts WHERE updated_at < ?", expire_before)
            await tx.execute(
                "INSERT INTO operator_drafts (chat_id, user_id, body, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, user_id)"
                " DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                chat_id,
                user_id,
                body,
                at,
            )

    async def drop_operator_draft(self, chat_id: str, user_id: str) -> None:
        async with self._transaction(brief=True) as tx:
            await tx.execute(
                "DELETE FROM operator_drafts WHERE chat_id = ? AND user_id = ?", chat_id, user_id
            )
