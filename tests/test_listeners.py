"""Listeners and the dispatcher: events reach their channel's handlers; unique listeners
run only under the scheduler role; a failing listener or handler is restarted or logged."""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

import pytest

from bot.delivery.adapter import ChannelAdapter
from bot.dispatch import Dispatcher
from bot.inbound import Dispatch, Inbound, Person, TextMessage
from bot.listeners import Listeners
from tests.conftest import NOON


def message(channel: str, text: str) -> TextMessage:
    return TextMessage(channel, "chat-1", Person("u1", "Ana", "es"), NOON, text)


class Chatty(ChannelAdapter):
    """Says one thing per listen, then waits to be stopped (or fails, when told to)."""

    name: ClassVar[str] = "chatty"

    def __init__(self, *, unique: bool, fail_first: int = 0) -> None:
        self.unique_listener = unique  # type: ignore[misc]
        self.fail_first = fail_first
        self.listens = 0

    async def listen(self, dispatch: Dispatch, stop: asyncio.Event) -> None:
        self.listens += 1
        if self.listens <= self.fail_first:
            raise ConnectionError("the server went away")
        await dispatch(message(self.name, f"hello {self.listens}"))
        await stop.wait()


class Quiet(ChannelAdapter):
    name: ClassVar[str] = "quiet"


async def until(condition: object, seconds: float = 2.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached")


def test_a_text_knows_its_command() -> None:
    assert message("c", "/subscribe 28012").command == ("subscribe", "28012")
    assert message("c", "/start@UnavozBot").command == ("start", "")
    assert message("c", "28012").command is None


def test_only_adapters_that_override_listen_receive() -> None:
    assert Chatty(unique=True).receives and not Quiet().receives


async def test_an_every_instance_listener_runs_and_its_events_are_dispatched() -> None:
    heard: list[Inbound] = []
    dispatcher = Dispatcher()

    async def handler(event: Inbound) -> None:
        heard.append(event)

    dispatcher.on("chatty", handler)
    stop = asyncio.Event()
    listeners = Listeners([Chatty(unique=False), Quiet()], dispatcher)
    task = asyncio.create_task(listeners.run(stop))
    await until(lambda: heard)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert isinstance(heard[0], TextMessage) and heard[0].text == "hello 1"


async def test_a_unique_listener_runs_only_while_holding_the_role() -> None:
    adapter = Chatty(unique=True)
    dispatcher = Dispatcher()
    dispatcher.on("chatty", lambda event: asyncio.sleep(0))
    stop = asyncio.Event()
    listeners = Listeners([adapter], dispatcher)
    task = asyncio.create_task(listeners.run(stop))
    await asyncio.sleep(0.05)
    assert adapter.listens == 0  # not the role holder
    await listeners.on_role(True)
    await until(lambda: adapter.listens == 1)
    await listeners.on_role(False)  # the role is lost: it stops listening
    await listeners.on_role(True)
    await until(lambda: adapter.listens == 2)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_a_failing_listener_is_started_again(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.listeners.RESTART_AFTER", (0.01,))
    adapter = Chatty(unique=False, fail_first=2)
    stop = asyncio.Event()
    dispatcher = Dispatcher()
    dispatcher.on("chatty", lambda event: asyncio.sleep(0))
    task = asyncio.create_task(Listeners([adapter], dispatcher).run(stop))
    with caplog.at_level(logging.ERROR, "bot.listeners"):
        await until(lambda: adapter.listens == 3)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert caplog.text.count("the chatty listener failed") == 2


async def test_a_failing_handler_is_logged_and_the_next_event_still_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answered: list[str] = []
    dispatcher = Dispatcher()

    async def handler(event: Inbound) -> None:
        assert isinstance(event, TextMessage)
        if event.text == "boom":
            raise ValueError("a bug")
        answered.append(event.text)

    dispatcher.on("customer", handler)
    with caplog.at_level(logging.ERROR, "bot.dispatch"):
        await dispatcher(message("customer", "boom"))
        await dispatcher(message("customer", "28012"))
    assert answered == ["28012"] and "could not answer a TextMessage from u1" in caplog.text
    await dispatcher(message("nobody", "hi"))  # no handler: dropped with a warning
