"""Newcomer friction: `make run` takes a port and says where to look; `make test` says up
front what it will skip and why; the install has no packaging warnings to wade through."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests import environment

ROOT = Path(__file__).parents[1]


def test_make_test_names_what_it_skips_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(environment, "POSTGRES", "postgresql://x@127.0.0.1:1/test")
    report = "\n".join(environment.report())
    assert "browser tests" in report and "apt-get install chromium" in report
    assert "espeak-ng and sox are not installed" in report
    assert "PostgreSQL tests" in report


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_takes_a_port_and_says_where_to_look() -> None:
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=18080", f"STAMP={ROOT}/Makefile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--port 18080" in plan and "http://127.0.0.1:18080/status" in plan
    tests = subprocess.run(
        ["make", "-n", "test", f"STAMP={ROOT}/Makefile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert tests.index("tests.environment") < tests.index("pytest")


def test_the_package_metadata_uses_an_spdx_license() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(project["project"]["license"], str)  # a TOML table warns at install
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_the_readme_stays_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../" not in readme and "/work/" not in readme
