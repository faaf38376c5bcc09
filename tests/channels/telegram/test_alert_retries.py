"""An alert is sent once however often its delivery is tried: a retry only finishes what
the last attempt left (here, marking the older alert out of date)."""

from __future__ import annotations

import datetime as dt

from bot.feed.changes import UpdateIncident
from tests.channels.telegram.conftest import WARDENS, Running
from tests.conftest import NOON
from tests.standins.telegram import server_error, when


async def test_a_failed_superseding_edit_is_retried_without_sending_again(
    unavoz: Running,
) -> None:
    await unavoz.until(lambda: unavoz.texts(WARDENS))
    # The new alert goes out; marking the old one out of date fails once (Telegram 502).
    unavoz.standin.faults = when(server_error(502), method="editMessageText", times=1)
    change = UpdateIncident(id="permits-down", eta=NOON + dt.timedelta(hours=8))
    await unavoz.app.service.apply(change, author="ana", source="cli")
    await unavoz.until(lambda: unavoz.texts(WARDENS)[0].startswith("⚠️ DESACTUALIZADA"))
    old, new = unavoz.messages(WARDENS)  # two alerts, not three
    assert f"/{new['message_id']}" in old["text"]
    edits = [c for c in unavoz.standin.calls_to("editMessageText") if c.chat_id == WARDENS]
    assert [c.status for c in edits] == [502, 200]
    sends = [c for c in unavoz.standin.calls_to("sendMessage") if c.chat_id == WARDENS]
    assert len(sends) == 2
