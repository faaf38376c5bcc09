"""Read and validate a feed: YAML text in, a `Feed` out, or every problem with its file and line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.feed.checks import check_document
from bot.feed.models import Feed
from bot.feed.yamlsource import FeedError, Problem, YamlDocument, collector_paused, parse_yaml

if TYPE_CHECKING:
    from bot.registry import Registry


@dataclass(frozen=True, slots=True)
class LoadedFeed:
    """A valid feed together with the exact text it came from."""

    feed: Feed
    text: str
    content_hash: str
    file: str


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_feed(
    text: str, file: str = "status_feed.yaml", registry: Registry | None = None
) -> LoadedFeed:
    """Validate `text` completely, with the channels of `registry` (default: the installed
    ones); raise FeedError listing every problem found."""
    if registry is None:
        from bot.registry import default_registry  # the channels, asked for at start

        registry = default_registry()
    doc = parse_yaml(text, file)
    problems = check_document(doc, voices=list(registry.renderers))
    feed: Feed | None = None
    try:
        with collector_paused():
            feed = registry.feed_model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        problems.extend(_problem(doc, error) for error in exc.errors(include_url=False))
    if problems or feed is None:
        raise FeedError(_unique(problems))
    return LoadedFeed(feed=feed, text=text, content_hash=content_hash(text), file=file)


def load_feed(path: str | Path, registry: Registry | None = None) -> LoadedFeed:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FeedError([Problem(str(path), 1, "no such file")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1  # where the first bad byte is
        raise FeedError(
            [Problem(str(path), line, f"not UTF-8 text ({exc.reason}): save the file as UTF-8")]
        ) from None
    return parse_feed(text, str(path), registry)


def _problem(doc: YamlDocument, error: ErrorDetails) -> Problem:
    loc = tuple(error["loc"])
    where = _dotted(loc)
    if error["type"] == "extra_forbidden":
        return doc.problem(
            loc, f"unknown key {loc[-1]!r} in {_dotted(loc[:-1]) or 'the feed'}", key=True
        )
    if error["type"] == "missing":
        parent = _dotted(loc[:-1]) or "the feed"
        return doc.problem(loc, f"{parent} is missing {loc[-1]!r}")
    message = error["msg"]
    if error["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    return doc.problem(loc, f"{where}: {message}" if where else message)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for item in loc:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else str(item))
    return out


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
