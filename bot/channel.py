"""What a channel is to the core: the contract each folder under `channels/` implements.

A channel is one place Unavoz speaks (the phone line, the web, X, Telegram, webhooks).
It owns its voice (`renderer`), its feed options (`options_model`, the feed's
`channels.<name>.options`), its settings from the environment (`settings_model`),
and what it adds to a running server: a delivery adapter, HTTP routes, scheduled
jobs and a listener for what people send it. The core never imports a channel: the
registry (`bot.registry`) finds them through the `unavoz.channels` entry points.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aiohttp import web
from pydantic import BaseModel

from bot.delivery.adapter import ChannelAdapter
from bot.dispatch import Dispatcher
from bot.feed.models import Feed, NoOptions
from bot.render.renderer import ChannelRenderer
from bot.settings import EnvSection, Settings

if TYPE_CHECKING:
    from bot.scheduler import Scheduler
    from bot.service import FeedService
    from bot.state import FeedState
    from bot.store import Store

OptionsT = TypeVar("OptionsT", bound=BaseModel)


@dataclass
class ChannelContext:
    """What a channel is given at start: settings, the store, the feed service, the clock."""

    settings: Settings
    store: Store
    service: FeedService
    clock: Callable[[], dt.datetime]
    # Filled in by the channels as they start, read by the others (e.g. the HTTP routes
    # learn whether phone callbacks are on).
    adapters: list[ChannelAdapter] = field(default_factory=list)
    # Tell the delivery engine that new deliveries are waiting (rather than at its next poll).
    wake: Callable[[], None] = lambda: None
    # Where the channel's handlers of inbound events are registered (see `setup`).
    dispatcher: Dispatcher = field(default_factory=Dispatcher)


class Channel:
    """One place Unavoz speaks. Subclasses set the class attributes they need."""

    name: ClassVar[str]  # the feed's `channels.<name>` key and the renderer's voice
    title: ClassVar[str]  # how `unavoz run` names it in its start-up lines
    description: ClassVar[str] = ""  # for the feed's JSON Schema
    renderer: ClassVar[ChannelRenderer | None] = None
    options_model: ClassVar[type[BaseModel]] = NoOptions
    settings_model: ClassVar[type[EnvSection] | None] = None

    def state(self, settings: Settings) -> str:
        """One line for `unavoz run`: "on", or "off (WHY)"."""
        return "on"

    def adapter(self, settings: Settings) -> ChannelAdapter | None:
        """The delivery adapter of this deployment (not started: planning needs no I/O),
        or None when the channel sends nothing."""
        return None

    def export_static(self, state: FeedState, directory: Path, now: dt.datetime) -> list[Path]:
        """Write what this channel shows as static files (`unavoz export-static`)."""
        return []

    def setup_http(self, app: web.Application, context: ChannelContext) -> None:
        """Add this channel's routes (or sub-applications) to the server's application."""

    def setup(self, context: ChannelContext, scheduler: Scheduler) -> None:
        """At start: add this channel's periodic or timed jobs to the one scheduler, and its
        handlers of what people send to `context.dispatcher`."""

    async def details(
        self, store: Store, adapters: Sequence[ChannelAdapter]
    ) -> dict[str, Any] | None:
        """What this channel adds to its entry of /consistency, `unavoz audit` and the console
        beyond the engine's figures (X: its state per locale), or None. `adapters` are this
        process's (empty for `unavoz audit`)."""
        return None

    def detail_lines(self, details: dict[str, Any]) -> list[str]:
        """`details` as lines of text (the audit's table, the console)."""
        return []

    def admin_paths(self) -> dict[str, Any]:
        """The OpenAPI description of the admin routes this channel adds under `/api/v1`
        (paths relative to it), for `/api/v1/openapi.yaml`."""
        return {}

    def console_pages(self) -> list[tuple[str, str]]:
        """(path, label) of this channel's own console pages, linked from `/console`."""
        return []

    async def incident_lines(self, store: Store, incident_id: str) -> list[str]:
        """What this channel knows of one incident for the console, in lines of text
        (the staff channel: which groups acknowledged its alert and which did not)."""
        return []


_OBJECT = {"type": "object"}


def admin_op(
    summary: str, *, body: type[BaseModel] | None = None, status: str = "200"
) -> dict[str, Any]:
    """One admin operation as OpenAPI describes it (JSON in and out, the bearer token)."""
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {
            status: {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "401": {"description": "no or wrong admin token"},
        },
    }
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body.model_json_schema()}}}
        op["responses"]["422"] = {
            "description": "refused: bad input, or the claims lint's findings"
        }
    return op


def options_of(feed: Feed, name: str, model: type[OptionsT]) -> OptionsT:
    """The typed options of channel `name` in `feed` (the model's defaults if it has none)."""
    try:
        options = feed.channels.get(name).options
    except KeyError:
        return model()
    if not isinstance(options, model):
        raise TypeError(f"channels.{name}.options is a {type(options).__name__}, not {model}")
    return options


def missing(settings: EnvSection, *names: str) -> str:
    """ "off (A, B not set)" for the variables among `names` that are unset, else "on"."""
    fields = type(settings).model_fields
    unset = [
        str(fields[name].validation_alias or name)
        for name in names
        if getattr(settings, name) is None
    ]
    return f"off ({', '.join(unset)} not set)" if unset else "on"


Job = Callable[[], Awaitable[object]]
__all__ = [
    "Channel",
    "ChannelAdapter",
    "ChannelContext",
    "ChannelRenderer",
    "Job",
    "missing",
    "options_of",
]
