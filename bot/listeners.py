"""Listening: every adapter that receives runs its `listen` here, restarted if it fails.

A unique listener (Telegram's getUpdates, X's mention polling) runs only while this
instance holds the scheduler role, so two instances never read the same messages;
the others run on every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from bot.delivery.adapter import ChannelAdapter
from bot.inbound import Dispatch

log = logging.getLogger(__name__)
RESTART_AFTER = (1.0, 2.0, 5.0, 15.0, 30.0)  # seconds before a failed listener starts again


class Listeners:
    def __init__(self, adapters: Sequence[ChannelAdapter], dispatch: Dispatch) -> None:
        self.adapters = [a for a in adapters if a.receives]
        self.dispatch = dispatch
        self._unique: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Run the every-instance listeners until `stop`; unique ones follow `on_role`."""
        self._stop = stop
        shared = [
            asyncio.create_task(self._keep_listening(a, stop), name=f"listen-{a.name}")
            for a in self.adapters
            if not a.unique_listener
        ]
        try:
            await stop.wait()
        finally:
            await self._end(shared)
            await self.on_role(False)

    async def on_role(self, leading: bool) -> None:
        """Start the unique listeners when this instance takes the role; stop them when not."""
        if leading and not self._stop.is_set():
            for adapter in self.adapters:
                if adapter.unique_listener and adapter.name not in self._unique:
                    done = asyncio.Event()
                    task = asyncio.create_task(
                        self._keep_listening(adapter, done), name=f"listen-{adapter.name}"
                    )
                    self._unique[adapter.name] = (task, done)
            return
        running, self._unique = self._unique, {}
        for _, done in running.values():
            done.set()
        await self._end([task for task, _ in running.values()])

    async def _keep_listening(self, adapter: ChannelAdapter, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await adapter.listen(self.dispatch, stop)
                failures = 0
                if not stop.is_set():  # it returned on its own: listen again shortly
                    await _wait(stop, RESTART_AFTER[0])
            except asyncio.CancelledError:
                raise
            except Exception:
                pause = RESTART_AFTER[min(failures, len(RESTART_AFTER) - 1)]
                failures += 1
                log.exception(
                    "the %s listener failed; listening again in %g s", adapter.name, pause
                )
                await _wait(stop, pause)

    @staticmethod
    async def _end(tasks: Sequence[asyncio.Task[None]], grace: float = 5.0) -> None:
        if not tasks:
            return
        await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
