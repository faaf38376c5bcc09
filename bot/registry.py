"""The registry: the one place that knows the channels, found through the `unavoz.channels`
entry points (`pyproject.toml`), so a channel could even ship as a package of its own.

The core asks it at start for the renderers, the feed model with each channel's typed
options, the adapters, the routes and the jobs. Tests build a `Registry` of their own
(with an extra channel, say) and pass it where the default one would be used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property, lru_cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import Field, create_model

from bot.channel import Channel
from bot.feed.models import Channels, ChannelSettings, Feed
from bot.render.renderer import ChannelRenderer

ENTRY_POINTS = "unavoz.channels"


class RegistryError(Exception):
    """A channel cannot be loaded, or two claim one name."""


class Registry:
    def __init__(self, channels: Iterable[Channel]) -> None:
        self.channels: tuple[Channel, ...] = tuple(channels)
        names = [c.name for c in self.channels]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise RegistryError(f"two channels are named {', '.join(repeated)}")

    @classmethod
    def from_entry_points(cls, group: str = ENTRY_POINTS) -> Registry:
        found = []
        for point in sorted(entry_points(group=group), key=lambda p: p.name):
            try:
                loaded = point.load()
            except Exception as exc:
                raise RegistryError(
                    f"cannot load channel {point.name} ({point.value}): {exc}"
                ) from exc
            channel = loaded() if isinstance(loaded, type) else loaded
            if not isinstance(channel, Channel):
                raise RegistryError(f"{point.value} is not a Channel")
            if channel.name != point.name:
                raise RegistryError(f"entry point {point.name} names channel {channel.name}")
            found.append(channel)
        if not found:
            raise RegistryError(
                f"no channels found in the {group!r} entry points: is Unavoz installed"
                " (pip install -e .)?"
            )
        return cls(found)

    def with_channels(self, *extra: Channel) -> Registry:
        return Registry([*self.channels, *extra])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    def get(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    @cached_property
    def renderers(self) -> Mapping[str, ChannelRenderer]:
        """The voices, by name: every channel that words statements itself."""
        return {c.name: c.renderer for c in self.channels if c.renderer is not None}

    @cached_property
    def feed_model(self) -> type[Feed]:
        """`Feed`, with a `channels:` section holding each channel's typed options."""
        fields: dict[str, Any] = {}
        for channel in self.channels:
            settings = ChannelSettings[channel.options_model]  # type: ignore[name-defined]
            default = settings(options=channel.options_model())
            fields[channel.name] = (
                settings,
                Field(default=default, description=channel.description or channel.title),
            )
        section = create_model("Channels", __base__=Channels, **fields)
        model: type[Feed] = create_model(
            "Feed", __base__=Feed, channels=(section, Field(default=section()))
        )
        return model


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The channels installed with this Unavoz (read once per process)."""
    return Registry.from_entry_points()
