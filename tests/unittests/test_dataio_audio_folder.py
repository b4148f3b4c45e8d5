"""Tests of the audio folder preparation (unlabelled audio for SSL)."""

import os
import shutil

import pytest

from summary_ssl.dataio.audio_faults import (
    write_corrupt,
    write_empty,
    write_resampled,
    write_tone,
)
from summary_ssl.dataio.audio_folder import FIELDS, prepare_audio_folder
from summary_ssl.dataio.prepare_utils import read_csv
from summary_ssl.dataio.toy_corpus import TOY_CORPUS_DIR, load_manifest


def test_toy_corpus(tmp_path):
    csv = prepare_audio_folder(
        TOY_CORPUS_DIR, str(tmp_path), "all.csv", progress=False
    )
    rows = read_csv(csv)
    assert list(rows[0]) == FIELDS
    audio = load_manifest()["audio"]
    assert len(rows) == len(audio)
    assert len({r["ID"] for r in rows}) == len(rows)
    expected = {
        os.path.join(TOY_CORPUS_DIR, *e["path"].split("/")): e["num_samples"]
        for e in audio
    }
    for row in rows:
        assert float(row["duration"]) == pytest.approx(
            expected[row["wav"]] / 16000, abs=1e-4
        )


def test_extensions_and_lengths(tmp_path):
    audio = load_manifest()["audio"]
    csv = prepare_audio_folder(
        TOY_CORPUS_DIR,
        str(tmp_path),
        "wav.csv",
        extensions=[".WAV"],
        progress=False,
    )
    wavs = [e for e in audio if e["path"].endswith(".wav")]
    assert len(read_csv(csv)) == len(wavs)
    csv = prepare_audio_folder(
        os.path.join(TOY_CORPUS_DIR, "LibriSpeech"),
        str(tmp_path),
        "mid.csv",
        min_duration=2.0,
        max_duration=3.0,
        progress=False,
    )
    durations = [
        e["num_samples"] / 16000 for e in audio if e["dataset"] == "LibriSpeech"
    ]
    expected = [d for d in durations if 2.0 <= d <= 3.0]
    assert len(read_csv(csv)) == len(expected)
    text = (tmp_path / "excluded_mid.txt").read_text()
    assert text.count("too short\t") == sum(d < 2.0 for d in durations)
    assert text.count("too long\t") == sum(d > 3.0 for d in durations)


def test_exclusions(tmp_path):
    src = os.path.join(TOY_CORPUS_DIR, "LibriSpeech", "dev-clean")
    folder = tmp_path / "audio"
    shutil.copytree(src, folder)
    flacs = sorted(folder.glob("*/*/*.flac"))
    write_empty(str(flacs[0]))
    write_corrupt(str(flacs[1]))
    write_resampled(str(flacs[2]), str(flacs[2]), 8000)
    write_tone(str(flacs[3]), 0.2)
    os.symlink(str(tmp_path / "gone.flac"), folder / "dangling.flac")
    csv = prepare_audio_folder(
        str(folder), str(tmp_path / "out"), min_duration=0.5, progress=False
    )
    assert len(read_csv(csv)) == len(flacs) - 4
    text = (tmp_path / "out" / "excluded_train.txt").read_text()
    first = text.splitlines()[0]
    assert first.startswith(f"# train.csv: excluded 5 of {len(flacs) + 1}")
    for reason in ("missing", "empty", "unreadable", "wrong sample rate"):
        assert f"1 {reason} (first: " in first
    csv = prepare_audio_folder(
        str(folder), str(tmp_path / "out"), resample=True, progress=False
    )
    assert str(flacs[2]) in {r["wav"] for r in read_csv(csv)}


def test_duplicate_ids_are_an_error(tmp_path):
    write_tone(str(tmp_path / "a_b" / "c.wav"), 0.5)
    write_tone(str(tmp_path / "a" / "b_c.wav"), 0.5)
    with pytest.raises(ValueError, match="same ID"):
        prepare_audio_folder(str(tmp_path), str(tmp_path / "out"))
