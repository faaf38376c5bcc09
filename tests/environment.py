"""What this machine lacks for the test suite: which tests will skip, why, and the fix.

`make test` prints it before running anything (`python -m tests.environment`), and pytest
prints it in its header, so a skip is never silent. On a machine with everything (CI's
`.ci/run` installs it all) nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlsplit

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
POSTGRES = os.environ.get("UNAVOZ_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_answers() -> bool:
    parts = urlsplit(POSTGRES)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1):
            return True
    except OSError:
        return False


def skipped() -> list[str]:
    """One line per group of tests this machine will skip, with why and how to fix it."""
    lines = []
    if not os.path.exists(CHROMIUM):
        lines.append(
            "browser tests (tests/channels/web/test_browser*.py, tests/console/"
            "test_lint_browser.py): Debian's chromium is not installed — apt-get install chromium"
        )
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        lines.append(
            "phone prompt files (tests/channels/phone/test_prompts.py): espeak-ng and sox are "
            "not installed — apt-get install espeak-ng sox"
        )
    if not _postgres_answers():
        lines.append(
            f"PostgreSQL tests (tests/store, tests/delivery/test_instances.py): nothing answers "
            f"at {urlsplit(POSTGRES).netloc} — start PostgreSQL or set UNAVOZ_TEST_POSTGRES"
        )
    return lines


def report() -> list[str]:
    lines = skipped()
    if not lines:
        return ["every test runs here (chromium, espeak-ng and sox, PostgreSQL found)"]
    return ["these tests will be skipped on this machine:", *(f"  - {line}" for line in lines)]


if __name__ == "__main__":
    print("\n".join(report()))
