"""`unavoz lint`: findings underlined, exit 0 / 1 / 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).parents[1]
EXAMPLE = str(ROOT / "status_feed.yaml")


@pytest.fixture(autouse=True)
def example_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNAVOZ_NOW", "2026-11-24T12:00+01:00")
    monkeypatch.setenv("UNAVOZ_FEED", EXAMPLE)


def test_a_contradiction_is_underlined_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lint", "Hola 👋 vuelve a las 20:00", "--incident", "ser-renewal-down"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0] == "  Hola 👋 vuelve a las 20:00"
    # The emoji takes two columns, so the carets sit under "a las 20:00" in a terminal.
    assert out[1] == "                 ^^^^^^^^^^^ eta (blocks)"
    assert out[2] == "    the feed says: Hora estimada de solución: hoy a las 18:00"
    assert out[3] == "    suggestion: hoy a las 18:00"
    assert out[-1].startswith("blocked: 1 finding(s) block this reply")


def test_a_faithful_reply_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "ETA 6pm, next update by 2:30pm", "--incident", "ser-renewal-down"]) == 0
    assert "ok: nothing the feed contradicts" in capsys.readouterr().out


def test_postcode_locale_and_at(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["lint", "Ya funciona!", "--postcode", "28034", "--locale", "en"]
    assert main([*args, "--at", "2026-11-24T12:00+01:00"]) == 1
    assert "Status: investigating; not resolved yet" in capsys.readouterr().out


def test_json_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    monkeypatch.setattr("sys.stdin", io.StringIO("back at 8pm"))
    assert main(["lint", "-", "--incident", "ser-renewal-down", "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] is False and answer["findings"][0]["claim"] == "at 8pm"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lint", ""], "the text is empty"),
        (["lint", "x" * 100_000], "characters long"),
        (["lint", "hola", "--incident", "nope"], "unknown incident 'nope'"),
        (["lint", "hola", "--area", "mars"], "unknown area 'mars'"),
        (["lint", "hola", "--at", "someday"], "cannot read the time"),
        (["lint", "hola", "--feed", "/nonexistent.yaml"], "cannot load the feed"),
    ],
)
def test_bad_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_control_characters_are_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    main(["lint", "\x1b[2Jvuelve a las 20:00", "--incident", "ser-renewal-down"])
    assert "\x1b" not in capsys.readouterr().out
