"""The labelled corpus of replies (corpus.yaml) and how the lint scores on it, per kind.

Shared by the corpus test (which asserts the targets) and bench/claims.py (which
also times the lint).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.claims import KINDS, LintResult, lint_reply
from bot.feed.loader import load_feed
from bot.feed.models import Feed

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus.yaml"


@dataclass(frozen=True)
class Reply:
    text: str
    lang: str
    expect: frozenset[str]
    context: dict[str, str]


@dataclass(frozen=True)
class Corpus:
    feed: Feed
    now: dt.datetime
    replies: list[Reply]


def load_corpus(path: Path = CORPUS) -> Corpus:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    feed = load_feed(ROOT / document["feed"]).feed
    replies = [
        Reply(
            text=str(item["text"]),
            lang=item["lang"],
            expect=frozenset(item["expect"]),
            context={k: str(item[k]) for k in ("incident", "area", "postcode") if k in item},
        )
        for item in document["replies"]
    ]
    return Corpus(feed, dt.datetime.fromisoformat(document["now"]), replies)


def lint(corpus: Corpus, reply: Reply) -> LintResult:
    return lint_reply(reply.text, corpus.feed, corpus.now, **reply.context)


@dataclass
class Counts:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


@dataclass
class Scores:
    per_kind: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in KINDS})
    overall: Counts = field(default_factory=Counts)
    misses: list[tuple[Reply, frozenset[str]]] = field(default_factory=list)


def score(corpus: Corpus, run: Callable[[Corpus, Reply], LintResult] = lint) -> Scores:
    """Per kind: a reply counts once per kind it should raise or raised."""
    scores = Scores()
    for reply in corpus.replies:
        found = frozenset(f.kind for f in run(corpus, reply).findings)
        if found != reply.expect:
            scores.misses.append((reply, found))
        for kind in KINDS:
            counts = scores.per_kind[kind]
            if kind in found and kind in reply.expect:
                counts.true_positives += 1
                scores.overall.true_positives += 1
            elif kind in found:
                counts.false_positives += 1
                scores.overall.false_positives += 1
            elif kind in reply.expect:
                counts.false_negatives += 1
                scores.overall.false_negatives += 1
    return scores
