"""Bad feeds → the exact errors, each with its line; good feeds load."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.feed.loader import load_feed, parse_feed
from bot.feed.yamlsource import FeedError

ROOT = Path(__file__).parents[2]


def errors(text: str) -> list[str]:
    with pytest.raises(FeedError) as caught:
        parse_feed(text, "feed.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_the_small_feed_is_valid(small_text: str) -> None:
    loaded = parse_feed(small_text, "small.yaml")
    assert [i.id for i in loaded.feed.incidents] == ["permits-down", "fibre-works", "old-outage"]
    # Postcodes stay text: no YAML 1.1 guessing turns "01001" into the octal number 513.
    assert loaded.feed.areas[2].postcodes == ["28034", "01001"]


def test_the_example_feed_is_valid() -> None:
    loaded = load_feed(ROOT / "status_feed.yaml")
    assert loaded.feed.organization.locales == ["es", "en"]
    assert any(i.is_open for i in loaded.feed.incidents)


def test_the_example_feed_points_editors_at_the_schema() -> None:
    first = (ROOT / "status_feed.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./status_feed.schema.json"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "    severity: major\n",
            "    severity: major\n   bad: [\n",
            [
                "feed.yaml:38: invalid YAML: while parsing a block collection did not find"
                " expected '-' indicator"
            ],
            id="malformed-yaml",
        ),
        pytest.param(
            "    status: identified\n",
            "    status: identified\n    status: monitoring\n",
            ["feed.yaml:37: duplicate key 'status'"],
            id="duplicate-key",
        ),
        pytest.param(
            "    severity: major\n",
            "    severity: 3\n    colour: red\n",
            [
                "feed.yaml:37: incidents[0].severity: Input should be"
                " 'minor', 'major' or 'critical'",
                "feed.yaml:38: unknown key 'colour' in incidents[0]",
            ],
            id="wrong-type-and-unknown-key",
        ),
        pytest.param(
            "  - id: norte\n",
            "  - id: sol\n",
            [
                "feed.yaml:29: duplicate id 'sol' in areas (first defined on line 25)",
                "feed.yaml:59: unknown area 'norte'",
                "feed.yaml:69: unknown area 'norte'",
            ],
            id="duplicate-area-id",
        ),
        pytest.param(
            "    areas: [centro]\n",
            "    areas: [centro, nowhere]\n",
            ["feed.yaml:39: unknown area 'nowhere'"],
            id="unknown-area",
        ),
        pytest.param(
            "    services: [permits]\n",
            "    services: [permits, water]\n",
            ["feed.yaml:38: unknown service 'water'"],
            id="unknown-service",
        ),
        pytest.param(
            "    eta: 2026-11-24T18:00:00+01:00\n",
            "    eta: 2026-11-24T07:00:00+01:00\n",
            [
                "feed.yaml:41: the ETA (2026-11-24T07:00:00+01:00) is before started_at"
                " (2026-11-24T08:00:00+01:00)"
            ],
            id="eta-before-start",
        ),
        pytest.param(
            "    resolved_at: 2026-11-17T13:00:00+01:00\n",
            "",
            ["feed.yaml:67: a resolved incident needs resolved_at"],
            id="resolved-without-time",
        ),
        pytest.param(
            "    title: {es: Renovación de permisos caída, en: Permit renewal down}\n",
            "    title: {es: Renovación de permisos caída}\n",
            ["feed.yaml:34: incidents[0].title has no 'en' text"],
            id="missing-locale-text",
        ),
        pytest.param(
            "    next_update_by: 2026-11-24T14:30:00+01:00\n",
            "",
            [
                "feed.yaml:33: an open incident needs next_update_by: customers are owed the"
                " time of the next update"
            ],
            id="open-without-next-update",
        ),
        pytest.param(
            "    started_at: 2026-11-24T08:00:00+01:00\n",
            "    started_at: 2026-11-24T08:00:00\n",
            ["feed.yaml:40: incidents[0].started_at: Input should have timezone info"],
            id="naive-time",
        ),
        pytest.param(
            "  timezone: Europe/Madrid\n",
            "  timezone: Europe/Madird\n",
            [
                "feed.yaml:5: organization.timezone: unknown time zone 'Europe/Madird'"
                " (use an IANA name)"
            ],
            id="unknown-timezone",
        ),
        pytest.param(
            "    parent: centro\n",
            "    parent: sol\n",
            ["feed.yaml:27: area 'sol' is its own ancestor"],
            id="area-cycle",
        ),
        pytest.param(
            "    status: scheduled\n",
            "    status: investigating\n",
            [
                "feed.yaml:57: status 'investigating' is not one of a maintenance's:"
                " in_progress, monitoring, resolved, scheduled"
            ],
            id="status-of-wrong-kind",
        ),
    ],
)
def test_bad_feeds_report_every_error_with_its_line(
    small_text: str, old: str, new: str, expected: list[str]
) -> None:
    assert old in small_text
    assert errors(small_text.replace(old, new, 1)) == expected


def test_every_error_is_reported_at_once(small_text: str) -> None:
    text = (
        small_text.replace("    areas: [centro]\n", "    areas: [nowhere]\n")
        .replace("    severity: major\n", "    severity: huge\n")
        .replace("  default_locale: es\n", "  default_locale: fr\n")
    )
    found = errors(text)
    assert len(found) == 3
    assert [line.split(":")[1] for line in found] == ["7", "37", "39"]


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"nope\.yaml:1: no such file"):
        load_feed(tmp_path / "nope.yaml")


def test_empty_document_lists_the_missing_sections() -> None:
    assert errors("# nothing yet\n") == [
        "feed.yaml:1: the feed is missing 'areas'",
        "feed.yaml:1: the feed is missing 'organization'",
        "feed.yaml:1: the feed is missing 'services'",
    ]


def test_a_maintenance_window_longer_than_a_month_is_refused_with_its_line(
    small_text: str,
) -> None:
    from bot.feed.loader import parse_feed
    from bot.feed.yamlsource import FeedError

    text = small_text.replace(
        "ends_at: 2026-11-25T04:00:00+01:00", "ends_at: 2027-01-25T04:00:00+01:00"
    )
    assert text != small_text
    with pytest.raises(FeedError) as caught:
        parse_feed(text, "feed.yaml")
    (problem,) = caught.value.problems
    assert problem.line > 1 and "lasts 61 days" in problem.message


def test_a_hand_edit_that_would_break_an_output_is_a_file_line_error(
    tmp_path: Path, small_text: str
) -> None:
    import pytest

    from bot.feed.loader import load_feed
    from bot.feed.yamlsource import FeedError

    cases = {
        "control": small_text.replace("No se pueden renovar", "No se pueden\x1b renovar"),
        "postcode": small_text.replace('["28034", "01001"]', '["28034", "ABC-1"]'),
        "too long": small_text.replace(
            "en: Permit renewal down}", "en: " + "Permit renewal down " * 6 + "}"
        ),
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(FeedError) as raised:
            load_feed(path)
        assert all(p.line > 1 for p in raised.value.problems), (name, raised.value)
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes(
        small_text.replace("Renovación", "Renovaci\udce9n").encode("utf-8", "surrogateescape")
    )
    with pytest.raises(FeedError) as raised:
        load_feed(latin)
    [problem] = raised.value.problems
    assert problem.line == 34 and "UTF-8" in problem.message


def test_the_postcode_pattern_is_the_organizations(small_text: str) -> None:
    import pytest

    from bot.feed.loader import parse_feed
    from bot.feed.yamlsource import FeedError

    text = small_text.replace("organization:\n", "organization:\n  postcode_pattern: '\\d{4}'\n", 1)
    with pytest.raises(FeedError, match="postcode_pattern"):
        parse_feed(text)
    letters = small_text.replace(
        "organization:\n", "organization:\n  postcode_pattern: '[A-Z]\\d{4}'\n", 1
    )
    with pytest.raises(FeedError, match="keypad"):
        parse_feed(letters)
