"""GET /api/v1/incidents/{id}/acks (admin): per staff chat told of an incident, whether its
latest alert was acknowledged and by whom; and every acknowledgement, stale ones marked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from bot.channel import ChannelContext
from bot.store import Acknowledgement, AlertMessage, TelegramStore

PATH = "/api/v1/incidents/{id}/acks"  # under /api/v1: the admin token guards it
STORE: web.AppKey[TelegramStore] = web.AppKey("telegram_store")


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")


def _ack(ack: Acknowledgement) -> dict[str, Any]:
    return {
        "group": ack.group_id,
        "chat": ack.target,
        "message_id": ack.message_id,
        "user_id": ack.user_id,
        "user_name": ack.user_name,
        "revision": ack.revision,
        "at": _iso(ack.at),
        "stale": ack.stale,
    }


def summary(
    incident_id: str, alerts: list[AlertMessage], acks: list[Acknowledgement]
) -> dict[str, Any]:
    groups = []
    for alert in alerts:
        by = [
            a
            for a in acks
            if a.target == alert.target and a.revision == alert.revision and not a.stale
        ]
        groups.append(
            {
                "group": alert.group_id,
                "chat": alert.target,
                "revision": alert.revision,
                "alerted_at": _iso(alert.sent_at),
                "acknowledged": bool(by),
                "by": [_ack(a) for a in by],
            }
        )
    return {"incident": incident_id, "groups": groups, "acks": [_ack(a) for a in acks]}


async def get_acks(request: web.Request) -> web.Response:
    store = request.app[STORE]
    incident_id = request.match_info["id"]
    alerts = await store.latest_alerts(incident_id)
    acks = await store.acks_for(incident_id)
    return web.json_response(summary(incident_id, alerts, acks))


def setup_acks(app: web.Application, context: ChannelContext) -> None:
    app[STORE] = context.store
    app.router.add_get(PATH, get_acks)
