"""The `unavoz` command, in-process, and `unavoz run` as a real process."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from bot.cli import main

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UNAVOZ_DATABASE_URL", f"sqlite:///{tmp_path}/unavoz.db")
    monkeypatch.delenv("UNAVOZ_FEED", raising=False)
    monkeypatch.setenv("UNAVOZ_AUTHOR", "tester")
    # The example feed's day: relative times ("+45m") and defaults ("now") count from here.
    monkeypatch.setenv("UNAVOZ_NOW", "2026-11-24T12:00+01:00")


def test_validate_a_good_feed(feed_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(feed_file)]) == 0
    assert "valid (3 incidents, 2 open)" in capsys.readouterr().out


def test_validate_prints_every_error_as_file_line(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = feed_file.read_text(encoding="utf-8")
    feed_file.write_text(
        text.replace("areas: [centro]", "areas: [mars]").replace("severity: major", "severity: x"),
        encoding="utf-8",
    )
    assert main(["validate", str(feed_file)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{feed_file}:37: incidents[0].severity: Input should be 'minor', 'major' or 'critical'",
        f"{feed_file}:39: unknown area 'mars'",
        f"{feed_file}: 2 errors",
    ]


def test_preview_shows_every_channel_with_a_facts_check(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["preview", str(feed_file), "--at", "2026-11-24T12:00", "--locale", "es", "--width", "220"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "══ permits-down [es] · causa identificada · ETA hoy a las 18:00" in out
    for channel in ("ivr", "web", "x", "staff", "customer"):
        assert f"{channel} " in out
    assert out.count("✓ same facts") == 10  # 5 channels × (incident + maintenance)
    assert "✗" not in out


def test_preview_of_one_area_and_channel(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "preview",
                str(feed_file),
                "--at",
                "2026-11-24T12:00",
                "--area",
                "norte",
                "--channel",
                "x",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "permits-down" not in out
    assert "fibre-works" in out  # the maintenance scheduled in the North


def test_schema_writes_the_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    schema = json.loads(target.read_text(encoding="utf-8"))
    assert schema["title"] == "Unavoz status feed"
    assert "incidents" in schema["properties"]


def test_the_committed_schema_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--output", "-"]) == 0
    committed = (ROOT / "status_feed.schema.json").read_text(encoding="utf-8")
    assert capsys.readouterr().out == committed, "run `unavoz schema` and commit the result"


def test_incident_open_update_resolve(feed_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = str(feed_file)
    assert (
        main(
            [
                "incident",
                "open",
                "water-cut",
                "--feed",
                feed,
                "--service",
                "permits",
                "--area",
                "sol",
                "--title",
                "es=Corte de agua",
                "--title",
                "en=Water cut",
                "--summary",
                "es=Sin agua en Sol.",
                "--summary",
                "en=No water in Sol.",
                "--workaround",
                "es=Fuente de la plaza.",
                "--workaround",
                "en=The square's fountain.",
                "--next-update",
                "+45m",
                "--eta",
                "2026-11-30T18:00",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "incident",
                "update",
                "water-cut",
                "--feed",
                feed,
                "--status",
                "identified",
                "--message",
                "es=Tubería rota.",
                "--message",
                "en=A broken pipe.",
                "--eta",
                "none",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "incident",
                "resolve",
                "water-cut",
                "--feed",
                feed,
                "--message",
                "es=Arreglado.",
                "--message",
                "en=Fixed.",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "revision 2: opened water-cut (by tester)",
        "revision 3: updated water-cut (by tester)",
        "revision 4: resolved water-cut (by tester)",
    ]
    water = next(
        i
        for i in yaml.safe_load(feed_file.read_text(encoding="utf-8"))["incidents"]
        if i["id"] == "water-cut"
    )
    assert water["status"] == "resolved"
    assert "eta" not in water
    assert water["updates"][1]["message"] == {"es": "Tubería rota.", "en": "A broken pipe."}
    # An ETA without an offset is read in the organization's time zone.
    assert main(["validate", feed]) == 0


def test_incident_refusals_change_nothing(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = feed_file.read_text(encoding="utf-8")
    assert (
        main(["incident", "update", "nope", "--feed", str(feed_file), "--status", "monitoring"])
        == 2
    )
    assert "no incident with id 'nope'" in capsys.readouterr().err
    assert (
        main(["incident", "update", "permits-down", "--feed", str(feed_file), "--area", "mars"])
        == 1
    )
    assert "unknown area 'mars'" in capsys.readouterr().err
    assert (
        main(
            [
                "incident",
                "update",
                "permits-down",
                "--feed",
                str(feed_file),
                "--message",
                "no-locale",
            ]
        )
        == 2
    )
    assert "LOCALE=TEXT" in capsys.readouterr().err
    assert feed_file.read_text(encoding="utf-8") == before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.mark.timeout(60)
def test_unavoz_run_serves_watches_and_stops_cleanly(feed_file: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "UNAVOZ_DATABASE_URL": f"sqlite:///{tmp_path}/run.db"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--feed", str(feed_file), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health: dict[str, object] = {}
        for _ in range(200):
            try:
                health = _get_json(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.05)
        assert health == {"status": "ok", "revision": 1, "feed_valid": True}
        text = feed_file.read_text(encoding="utf-8")
        feed_file.write_text(text.replace("severity: major", "severity: minor", 1), "utf-8")
        for _ in range(100):
            if _get_json(f"http://127.0.0.1:{port}/healthz")["revision"] == 2:
                break
            time.sleep(0.05)
        assert _get_json(f"http://127.0.0.1:{port}/healthz")["revision"] == 2
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "staff alerts (Telegram): off (TELEGRAM_STAFF_TOKEN not set)" in output
    assert "admin API and console: off" in output


def test_audit_lists_overdue_promises(
    feed_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["audit", "--feed", str(feed_file)]) == 0  # noon: every promise ahead
    assert "overdue" not in capsys.readouterr().out
    monkeypatch.setenv("UNAVOZ_NOW", "2026-11-24T15:00+01:00")
    assert main(["audit", "--feed", str(feed_file)]) == 1
    out = capsys.readouterr().out
    assert "overdue: permits-down: next update owed since 2026-11-24T14:30:00+01:00" in out


def test_preview_says_which_channel_leaves_part_of_a_long_workaround_out(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workaround too long for X loses whole sentences there, and preview says so: the
    check reads the facts in each text, it does not assume them."""
    text = feed_file.read_text(encoding="utf-8").replace(
        "en: Keep the request receipt; it counts as a permit until this is fixed.",
        "en: Keep the request receipt, which counts as a permit until this is fixed. If you are"
        " fined, show the receipt at your district's Citizen Service office or on the"
        " e-government site within twenty days of the fine, and it will be cancelled.",
    )
    feed_file.write_text(text, encoding="utf-8")
    args = ["preview", str(feed_file), "--at", "2026-11-24T12:00", "--locale", "en"]
    assert main([*args, "--width", "80"]) == 0
    out = capsys.readouterr().out
    assert "x " in out and "✗ missing workaround (part)" in out
    assert "channels differ: " in out and "x lacks workaround (part)" in out
    assert "…" not in out  # nothing cut inside a sentence
    assert "Keep the request receipt, which counts as a permit until this is fixed." in out


def test_an_eta_in_the_past_needs_force_and_relative_times_go_both_ways(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    update = ["incident", "update", "permits-down", "--feed", str(feed_file)]
    assert main([*update, "--eta", "-2h"]) == 2  # not an argparse error: read, then refused
    err = capsys.readouterr().err
    assert "the ETA" in err and "2 h 0 min in the past" in err and "--force" in err
    assert main([*update, "--eta", "01:00"]) == 2  # 01:00 today, eleven hours ago
    capsys.readouterr()
    assert main([*update, "--eta", "-2h", "--force"]) == 0
    captured = capsys.readouterr()
    assert (
        "revision" in captured.out and "warning" in captured.err and "in the past" in captured.err
    )
    assert main([*update, "--eta", "+2h", "--next-update", "+30m"]) == 0


def test_audit_lists_every_channel_with_what_it_tells(
    feed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    update = ["incident", "update", "permits-down", "--feed", str(feed_file)]
    assert main([*update, "--severity", "minor"]) == 0
    capsys.readouterr()
    main(["audit"])
    out = capsys.readouterr().out
    for channel in ("ivr", "web", "x", "staff", "customer", "webhook"):
        assert re.search(rf"^{channel}\s", out, re.MULTILINE), (channel, out)
    assert "rendered on request" in out and "not set" in out


@pytest.mark.parametrize(
    ("level", "expected"), [("INFO", logging.WARNING), ("debug", logging.NOTSET)]
)
def test_run_keeps_library_chatter_out_of_the_log_unless_debugging(
    level: str, expected: int
) -> None:
    from bot.cli import quiet_libraries

    scheduler = logging.getLogger("apscheduler")
    before = scheduler.level
    try:
        scheduler.setLevel(logging.NOTSET)
        quiet_libraries(level)
        assert scheduler.level == expected
    finally:
        scheduler.setLevel(before)


def test_incident_plans_its_deliveries_at_the_clock_of_unavoz_now(
    feed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI words its revision's messages at UNAVOZ_NOW, as the server it feeds does
    ("today at 6:00 PM", not the date as seen from the real day)."""
    import sqlite3

    from tests.delivery.conftest import with_webhooks

    text = feed_file.read_text(encoding="utf-8")
    feed_file.write_text(with_webhooks(text, ["http://127.0.0.1:9/hook"]), encoding="utf-8")
    args = ["incident", "update", "permits-down", "--feed", str(feed_file)]
    assert main([*args, "--eta", "18:00", "--message", "es=Ya casi.", "--message", "en=Soon."]) == 0
    with sqlite3.connect(tmp_path / "unavoz.db") as db:
        payloads = [row[0] for row in db.execute("SELECT body FROM payloads")]
    permits = [p for p in payloads if '"incident": "permits-down"' in p]
    assert permits and all("Expected fix: today at 6:00 PM" in p for p in permits)
