"""The whole labelled corpus: the quality targets of issue #15, so a regression fails."""

from __future__ import annotations

import pytest

from bot.claims import KINDS
from tests.claims.corpus import Corpus, Scores, load_corpus, score


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


@pytest.fixture(scope="module")
def scores(corpus: Corpus) -> Scores:
    return score(corpus)


def test_the_corpus_is_what_the_issue_asks_for(corpus: Corpus) -> None:
    replies = corpus.replies
    assert len(replies) >= 200
    spanish = sum(r.lang == "es" for r in replies)
    assert 0.45 <= spanish / len(replies) <= 0.55
    contradicting = sum(bool(r.expect) for r in replies)
    assert 0.4 <= contradicting / len(replies) <= 0.6
    for kind in KINDS:
        for lang in ("es", "en"):
            assert any(kind in r.expect and r.lang == lang for r in replies), (kind, lang)
    assert all(r.expect <= set(KINDS) for r in replies)


def test_precision_and_recall_meet_the_targets(scores: Scores) -> None:
    misses = "\n".join(
        f"{sorted(r.expect)} → {sorted(found)}: {r.text}" for r, found in scores.misses
    )
    assert scores.overall.precision >= 0.95, misses
    assert scores.overall.recall >= 0.90, misses
    for kind, counts in scores.per_kind.items():
        assert counts.precision >= 0.85, (kind, misses)
        assert counts.recall >= 0.85, (kind, misses)
