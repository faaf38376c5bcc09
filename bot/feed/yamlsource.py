"""YAML text → plain data, keeping the node tree so any path can be traced back to its line.

Parsing uses libyaml (when PyYAML was built with it) to compose nodes, and our
own construction on top: scalars stay strings unless they are an explicit null,
so the schema — not YAML 1.1's guessing — decides types. `28001` stays the
postcode "28001", `01001` does not become the octal number 513, `no` is not
False.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml is much faster on large feeds; the pure-Python loader gives the same nodes.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})

PathItem = str | int


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a feed, where a person can find it."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FeedError(Exception):
    """A feed that cannot be accepted; `problems` lists every error found, in line order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed document: its plain data and the nodes that say where each piece was written."""

    file: str
    data: Any
    root: Node | None

    def line_of(self, path: Sequence[PathItem], *, key: bool = False) -> int:
        """The 1-based line of the value at `path`, or of the deepest part of it that exists.

        With `key=True`, the line of the key itself (for "unknown key" errors).
        """
        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line
        for item in path:
            child, key_node = _child(node, item)
            if child is None:
                break
            line = (key_node if key and key_node is not None else child).start_mark.line
            node = child
        return line + 1

    def problem(self, path: Sequence[PathItem], message: str, *, key: bool = False) -> Problem:
        return Problem(self.file, self.line_of(path, key=key), message)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large tree is built.

    Building tens of thousands of nodes triggers collection after collection, each
    scanning the growing tree: that tripled the load time of a 50,000-postcode feed.
    Nodes and plain data hold no reference cycles, so nothing is kept alive longer.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _child(node: Node, item: PathItem) -> tuple[Node | None, Node | None]:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(item):
                return value_node, key_node
    elif isinstance(node, SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
        return node.value[item], None
    return None, None


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; syntax errors and duplicate keys raise FeedError with lines."""
    try:
        with collector_paused():
            root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise FeedError([Problem(file, line, f"invalid YAML: {message}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses (a control character)
        line = text.count("\n", 0, exc.position) + 1
        raise FeedError(
            [Problem(file, line, f"invalid YAML: the character {exc.character!r} is not allowed")]
        ) from None
    except yaml.YAMLError as exc:
        raise FeedError([Problem(file, 1, f"invalid YAML: {exc}")]) from None
    problems: list[Problem] = []
    with collector_paused():
        data = _construct(root, file, problems) if root is not None else None
    if problems:
        raise FeedError(problems)
    return YamlDocument(file=file, data=data, root=root)


def _construct(node: Node, file: str, problems: list[Problem]) -> Any:
    if isinstance(node, ScalarNode):
        if node.style is None and node.value in _NULLS:
            return None
        return node.value
    if isinstance(node, SequenceNode):
        return [_construct(item, file, problems) for item in node.value]
    if isinstance(node, MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                problems.append(Problem(file, key_node.start_mark.line + 1, "keys must be text"))
                continue
            key = key_node.value
            if key in mapping:
                problems.append(
                    Problem(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
                )
            mapping[key] = _construct(value_node, file, problems)
        return mapping
    raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover


def core_scalar(value: Any) -> Any:
    """Interpret a string the way YAML 1.2's core schema would (for free-form option values)."""
    if isinstance(value, list):
        return [core_scalar(v) for v in value]
    if isinstance(value, dict):
        return {k: core_scalar(v) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(value, 10)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value
