"""Read and validate a feed: YAML text in, a `Feed` out, or every problem with its file and line."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import SequenceNode

from bot.feed.checks import IncidentRules, check_document, check_incident, repeated_ids
from bot.feed.models import Feed, Incident
from bot.feed.yamlsource import FeedError, Problem, YamlDocument, collector_paused, parse_yaml

if TYPE_CHECKING:
    from bot.feed.changes import Edit
    from bot.registry import Registry


@dataclass(frozen=True, slots=True)
class LoadedFeed:
    """A valid feed together with the exact text it came from."""

    feed: Feed
    text: str
    content_hash: str
    file: str
    # What the rules on an incident need from the rest of the text (see `revalidate`).
    rules: IncidentRules | None = field(default=None, compare=False, repr=False)


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
    problems, rules = check_document(doc, voices=list(registry.renderers))
    feed: Feed | None = None
    try:
        with collector_paused():
            feed = registry.feed_model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        problems.extend(_problem(doc, error) for error in exc.errors(include_url=False))
    if problems or feed is None:
        raise FeedError(_unique(problems))
    return LoadedFeed(feed, text, content_hash(text), file, rules)


class _Unsure(Exception):
    """The edit is not one `revalidate` can vouch for item by item."""


# An anchor or an alias (`&name`, `*name`) where a node may start: an item that defines
# or uses one can change what another item means, so it is validated whole.
_ANCHOR_OR_ALIAS = re.compile(r"(?:^|[\s\[{,])[&*][^\s,\[\]{}]", re.MULTILINE)


def revalidate(
    previous: LoadedFeed, edit: Edit, file: str, registry: Registry | None = None
) -> LoadedFeed:
    """`edit.text` validated exactly as `parse_feed` would, at the cost of the incidents the
    edit touched — when it rewrote only incident items of `previous.text` in place (a change
    of `bot.feed.changes`). The rest of the text is `previous`'s byte for byte, so its
    validated objects are kept as they are; the items touched are parsed, checked against
    the rest (`IncidentRules`: services, areas, locales, every other id) and validated.
    Whatever this cannot vouch for — an edit of the whole text, an anchor, any problem at
    all — is validated whole by `parse_feed`, so an invalid edit is refused with the same
    errors, lines included."""
    try:
        feed, rules = _revalidated(previous, edit)
    except _Unsure:
        return parse_feed(edit.text, file, registry)
    return LoadedFeed(feed, edit.text, content_hash(edit.text), file, rules)


def _revalidated(previous: LoadedFeed, edit: Edit) -> tuple[Feed, IncidentRules]:
    rules = previous.rules
    before = previous.feed.incidents
    count = edit.item_count()
    touched = set(edit.touched)
    if (
        rules is None
        or edit.layout is None
        or len(rules.incident_ids) != len(before)
        or count < len(before)
        or not touched.issuperset(range(len(before), count))
        or _ANCHOR_OR_ALIAS.search(edit.replaced)
    ):
        raise _Unsure
    # The items untouched are where they were: each shows the id it had.
    ids = [*rules.incident_ids, *[None] * (count - len(before))]
    if any(edit.item_id(k) != ids[k] for k in range(len(before)) if k not in touched):
        raise _Unsure
    incidents = list(before)
    for k in sorted(touched):  # those rewritten, then those added (in their order)
        item = _item(edit.item_text(k), rules)
        ids[k] = item["id"] if isinstance(item.get("id"), str) else None
        try:
            incident = Incident.model_validate(item)
        except ValidationError:
            raise _Unsure from None
        if k >= len(before):
            incidents.append(incident)
        elif before[k] != incident:  # an edge that lapsed leaves its incident as it was
            incidents[k] = incident
    if repeated_ids(ids):
        raise _Unsure
    feed = previous.feed.model_copy(update={"incidents": incidents})
    return feed, IncidentRules(rules.service_ids, rules.area_ids, rules.locales, tuple(ids))


def _item(text: str, rules: IncidentRules) -> dict[str, Any]:
    """One incident item, parsed and checked on its own; _Unsure at the first doubt."""
    if _ANCHOR_OR_ALIAS.search(text):
        raise _Unsure
    try:
        doc = parse_yaml(text, "item")
    except FeedError:
        raise _Unsure from None
    if not isinstance(doc.root, SequenceNode) or not isinstance(doc.data, list):
        raise _Unsure
    if len(doc.data) != 1 or not isinstance(doc.data[0], dict):
        raise _Unsure
    problems: list[Problem] = []
    check_incident(doc, (0,), doc.data[0], rules, problems)
    if problems:
        raise _Unsure
    item: dict[str, Any] = doc.data[0]
    return item


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
