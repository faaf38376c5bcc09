"""Bad input never crashes or hangs the lint: a clear error, or a pass with a note."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.claims import LintInputError, lint_reply, override
from bot.claims.text import MAX_LENGTH, word_set
from bot.claims.text import clean as clean_with_flag
from bot.feed.loader import parse_feed
from bot.feed.models import Feed
from tests.claims.conftest import EXAMPLE_FEED, EXAMPLE_NOON


@pytest.mark.parametrize(
    ("text", "context", "message"),
    [
        ("", {}, "the text is empty"),
        ("  \n\t ", {}, "the text is empty"),
        ("\x00\x01", {}, "the text is empty"),
        ("x" * 100_000, {}, "the text is 100,000 characters long"),
        ("hola", {"incident": "no-such"}, "unknown incident 'no-such'"),
        ("hola", {"area": "atlantis"}, "unknown area 'atlantis'"),
        ("hola", {"area": "sol", "postcode": "28012"}, "an area or a postcode, not both"),
        ("hola", {"locale": "fr"}, "unknown locale 'fr'"),
    ],
)
def test_bad_input_is_a_clear_error(
    example_feed: Feed, text: str, context: dict[str, str], message: str
) -> None:
    with pytest.raises(LintInputError, match=message):
        lint_reply(text, example_feed, EXAMPLE_NOON, **context)


def test_now_must_be_aware(example_feed: Feed) -> None:
    with pytest.raises(LintInputError, match="aware"):
        lint_reply("hola", example_feed, dt.datetime(2026, 11, 24, 12))


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("Bonjour, nous sommes désolés, le service est en panne", "neither Spanish nor English"),
        ("Hola, the system will be back soon, lo sentimos mucho de verdad", "mixes Spanish"),
        ("Vuelve\x07 a las 18:00\x1b[31m", "control characters"),
    ],
)
def test_odd_text_passes_with_a_note(example_feed: Feed, text: str, note: str) -> None:
    result = lint_reply(text, example_feed, EXAMPLE_NOON, incident="ser-renewal-down")
    assert result.ok
    assert any(note in n for n in result.notes), result.notes


def test_control_characters_keep_the_spans(example_feed: Feed) -> None:
    text = "\x1b[1mVuelve a las 20:00\x00"
    [finding] = lint_reply(text, example_feed, EXAMPLE_NOON, incident="ser-renewal-down").findings
    assert text[finding.start : finding.end] == finding.claim == "a las 20:00"


def test_an_unknown_postcode_is_a_note(example_feed: Feed) -> None:
    result = lint_reply("No te afecta", example_feed, EXAMPLE_NOON, postcode="99999")
    assert result.ok and result.notes == ("postcode 99999 is in no area of the feed",)


@pytest.mark.parametrize(
    "text",
    [
        "1" * MAX_LENGTH,
        "1 " * (MAX_LENGTH // 2),
        "a las " * (MAX_LENGTH // 6),
        ("mañana por la " * 400)[:MAX_LENGTH],
        "9:" * (MAX_LENGTH // 2),
        ("+34 " + "9 " * 2000)[:MAX_LENGTH],
        ("http://" + "a." * 2400)[:MAX_LENGTH],
        ("no " * 1700)[:MAX_LENGTH],
        "é" * MAX_LENGTH,
        "🔥" * MAX_LENGTH,
    ],
)
def test_hostile_text_does_not_hang(example_feed: Feed, text: str) -> None:
    started = time.perf_counter()
    lint_reply(text, example_feed, EXAMPLE_NOON, incident="ser-renewal-down")
    # Generous for slow CI: a backtracking pattern would take minutes, not this.
    assert time.perf_counter() - started < 2.0


def clean_text(text: str) -> str:
    return clean_with_flag(text)[0]


def _feed_warning_on(*kinds: str) -> Feed:
    text = EXAMPLE_FEED.read_text(encoding="utf-8").replace(
        "  apology:\n    es: Sentimos las molestias que le estamos causando.",
        f"  claims_lint: {{warn: [{', '.join(kinds)}]}}\n"
        "  apology:\n    es: Sentimos las molestias que le estamos causando.",
    )
    return parse_feed(text, "status_feed.yaml").feed


def test_the_feed_turns_a_kind_down_to_a_warning() -> None:
    feed = _feed_warning_on("contact", "next_update")
    warned = lint_reply("Llama al 91 555 12 34", feed, EXAMPLE_NOON, incident="ser-renewal-down")
    [finding] = warned.findings
    assert warned.ok and not finding.blocks
    mixed = lint_reply(
        "Llama al 91 555 12 34, vuelve a las 20h", feed, EXAMPLE_NOON, incident="ser-renewal-down"
    )
    assert not mixed.ok
    assert {(f.kind, f.blocks) for f in mixed.findings} == {("contact", False), ("eta", True)}


def test_an_unknown_kind_to_warn_is_a_feed_error() -> None:
    with pytest.raises(Exception, match="claims_lint"):
        _feed_warning_on("typo")


def test_an_override_records_who_and_why(example_feed: Feed) -> None:
    text = "Ya está solucionado"
    result = lint_reply(text, example_feed, EXAMPLE_NOON, incident="ser-renewal-down")
    record = override(
        result, text, author="lucia.cm", reason="the crew called: fixed at 11:55", at=EXAMPLE_NOON
    )
    assert record.author == "lucia.cm" and [f.kind for f in record.findings] == ["resolved"]
    with pytest.raises(ValueError, match="reason"):
        override(result, text, author="lucia.cm", reason="ok", at=EXAMPLE_NOON)
    passing = lint_reply(
        "Vuelve a las 18h", example_feed, EXAMPLE_NOON, incident="ser-renewal-down"
    )
    with pytest.raises(ValueError, match="nothing to override"):
        override(passing, text, author="lucia.cm", reason="no reason at all", at=EXAMPLE_NOON)


def test_the_lint_does_not_depend_on_todays_date(example_feed: Feed) -> None:
    later = lint_reply(
        "Vuelve a las 18h", example_feed, EXAMPLE_NOON + dt.timedelta(days=30),
        incident="ser-renewal-down",
    )  # fmt: skip
    assert [f.kind for f in later.findings] == ["eta"]  # the 18:00 of a month later


_WORDS = st.sampled_from(
    sorted(
        word_set(
            "a las 18:00 6pm mañana tmrw by tonight ya funciona fixed still down no not Chamberí "
            "28012 28034 010 +34 900 100 200 www.x.example fibra SER permiso llama de 8 a 20 "
            "lunes Mon-Fri 24/7 ¿ ? ! , . 🙏 \x00 hasta desde since en dos horas"
        )
        | {"\n", "\x1b[1m"}
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.text(max_size=300), st.lists(_WORDS, max_size=40).map(" ".join)),
    incident=st.sampled_from([None, "ser-renewal-down", "fibre-outage-north", "water-bills-delay"]),
)
def test_any_text_gives_findings_on_its_own_words(
    example_feed: Feed, text: str, incident: str | None
) -> None:
    try:
        result = lint_reply(text, example_feed, EXAMPLE_NOON, incident=incident)
    except LintInputError:
        assert not text.strip() or not clean_text(text).strip()
        return
    assert result.ok == (not any(f.blocks for f in result.findings))
    for finding in result.findings:
        assert 0 <= finding.start < finding.end <= len(text)
        assert clean_text(text)[finding.start : finding.end] == finding.claim
