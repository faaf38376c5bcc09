"""Prompt files: 8 kHz mono 16-bit WAV as long as their words, SSML that parses, kept current."""

from __future__ import annotations

import shutil
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.feed.loader import LoadedFeed, parse_feed
from bot.state import FeedState
from bot.store import RevisionRecord
from channels.phone.prompts import ssml, write_prompts
from tests.conftest import HOSTILE, NOON, prepare

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="espeak-ng and sox are not installed (.ci/run installs them)",
)
SSML = "{http://www.w3.org/2001/10/synthesis}"


def state_of(text: str, number: int = 1) -> FeedState:
    loaded = parse_feed(text)
    return FeedState.build(
        loaded, RevisionRecord(number, loaded.content_hash, "t", "file", NOON, text)
    )


def test_wav_files_are_telephony_format_and_as_long_as_their_words(
    small_feed: LoadedFeed, tmp_path: Path
) -> None:
    state = state_of(prepare(small_feed.text))
    assert write_prompts(state, tmp_path, NOON) == 6  # general × 2 locales + 2 areas × 2
    for locale in ("es", "en"):
        for stem in (tmp_path / locale / "general", tmp_path / locale / "areas" / "sol"):
            words = stem.with_suffix(".txt").read_text(encoding="utf-8")
            with wave.open(str(stem.with_suffix(".wav"))) as audio:
                assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (
                    8000,
                    1,
                    2,
                )
                seconds = audio.getnframes() / audio.getframerate()
            # espeak-ng at 150 words a minute says roughly 12 to 20 characters a second.
            assert len(words) / 20 < seconds < len(words) / 8, (stem, len(words), seconds)
            root = ET.fromstring(stem.with_suffix(".ssml").read_bytes())
            assert root.tag == f"{SSML}speak"
    area_words = (tmp_path / "es" / "areas" / "sol.txt").read_text(encoding="utf-8")
    assert HOSTILE in area_words and "hoy a las 18:00" in area_words
    assert not (tmp_path / "es" / "areas" / "norte.txt").exists()  # nothing affects it now


def test_unchanged_words_are_not_rebuilt_and_stale_areas_are_removed(
    small_feed: LoadedFeed, tmp_path: Path
) -> None:
    state = state_of(small_feed.text)
    write_prompts(state, tmp_path, NOON)
    assert write_prompts(state, tmp_path, NOON) == 0
    resolved = small_feed.text.replace(
        "    status: identified\n",
        "    status: resolved\n    resolved_at: 2026-11-24T11:00:00+01:00\n",
    )
    assert write_prompts(state_of(resolved, 2), tmp_path, NOON) > 0
    assert not (tmp_path / "es" / "areas" / "sol.wav").exists()
    assert not list((tmp_path / "es" / "areas").iterdir())
    assert "no tenemos ninguna incidencia" in (tmp_path / "es" / "general.txt").read_text()


def test_ssml_escapes_what_people_typed() -> None:
    document = ssml(f'Título {HOSTILE} & "comillas". Segunda frase', "es")
    root = ET.fromstring(document)
    sentences = [s.text for s in root.iter(f"{SSML}s")]
    assert sentences == [f'Título {HOSTILE} & "comillas".', "Segunda frase."]
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "es-ES"
