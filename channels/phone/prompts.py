"""Prompt files for IVRs that play recordings (Asterisk and the like), rewritten each revision.

Per locale, `general.txt`, `general.ssml` and `general.wav`, and the same per affected
area under `areas/`: the words the live dialogue says, spoken by espeak-ng and
converted by sox to the telephony format (8 kHz, mono, 16-bit PCM). Every file is
written beside its final name and renamed into place, so a caller never hears half
of one; a set is only rebuilt when its words changed.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from bot.service import write_atomically
from bot.state import FeedState
from channels.phone.dialogue import LANGUAGE_TAGS, general

log = logging.getLogger(__name__)
SSML = "http://www.w3.org/2001/10/synthesis"
VOICES = {"es": "es", "en": "en-gb"}  # espeak-ng voices


def ssml(text: str, locale: str) -> bytes:
    """SSML 1.1 for the text, escaped by ElementTree."""
    ET.register_namespace("", SSML)
    root = ET.Element(
        f"{{{SSML}}}speak",
        {
            "version": "1.1",
            "{http://www.w3.org/XML/1998/namespace}lang": LANGUAGE_TAGS.get(locale, locale),
        },
    )
    for sentence in text.split(". "):
        if sentence.strip():
            ET.SubElement(root, f"{{{SSML}}}s").text = sentence.strip().rstrip(".") + "."
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def speak(text: str, locale: str, target: Path) -> None:
    """Speak `text` into `target` as 8 kHz mono 16-bit PCM WAV (espeak-ng, then sox)."""
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        raw, telephony = Path(work) / "raw.wav", Path(work) / "8k.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                VOICES.get(locale, locale),
                "-s",
                "150",
                "-w",
                str(raw),
                "--",
                text,
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "sox",
                str(raw),
                "-r",
                "8000",
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                str(telephony),
            ],
            check=True,
            capture_output=True,
        )
        telephony.replace(target)  # same directory: an atomic rename


def write_set(directory: Path, name: str, text: str, locale: str) -> bool:
    """Write `name`.txt/.ssml/.wav unless the words are unchanged. True when written."""
    directory.mkdir(parents=True, exist_ok=True)
    words = directory / f"{name}.txt"
    if words.exists() and words.read_text(encoding="utf-8") == text:
        return False
    speak(text, locale, directory / f"{name}.wav")
    write_atomically(directory / f"{name}.ssml", ssml(text, locale))
    write_atomically(words, text)  # last: its presence says the set is complete
    return True


def write_prompts(state: FeedState, root: str | Path, now: dt.datetime) -> int:
    """Every locale's general set and each affected area's; return how many sets changed."""
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        raise RuntimeError("prompt files need espeak-ng and sox (apt-get install espeak-ng sox)")
    changed = 0
    for locale in state.feed.organization.locales:
        base = Path(root) / locale
        changed += write_set(base, "general", general(state, locale, now), locale)
        affected = set()
        for area in state.feed.areas:
            incidents = state.lookup.for_area(area.id, now)
            if not incidents:
                continue
            affected.add(area.id)
            text = " ".join(state.render("ivr", i, locale, now) for i in incidents)
            changed += write_set(base / "areas", area.id, text, locale)
        changed += _remove_stale(base / "areas", affected)
    return changed


def _remove_stale(directory: Path, affected: set[str]) -> int:
    """An area no longer affected must not keep playing an old announcement."""
    removed = 0
    if not directory.exists():
        return 0
    for words in directory.glob("*.txt"):
        if words.stem not in affected:
            words.unlink()  # first: the set is incomplete from here on
            for suffix in (".wav", ".ssml"):
                words.with_suffix(suffix).unlink(missing_ok=True)
            removed += 1
    return removed
