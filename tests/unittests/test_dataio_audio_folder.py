"""Tests of the audio folder preparation (unlabelled audio for SSL)."""

import os
import shutil

import pytest

from summary_ssl.dataio.audio_folder import FIELDS, prepare_audio_folder
from summary_ssl.dataio.prepare_utils import read_csv
from tests.audio_faults import (
    write_corrupt,
    write_empty,
    write_resampled,
    write_tone,
)
from tools.toy.corpus import TOY_CORPUS_DIR, load_manifest


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


def _truncate_data(path):
    """Keeps a FLAC file's header but cuts its audio data short."""
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 3])


def test_files_corrupt_after_a_valid_header_are_found_at_preparation(
    tmp_path,
):
    """A header-only check passes a FLAC whose data is cut; decoding at
    preparation excludes it once, as unreadable, and counts it."""
    src = os.path.join(TOY_CORPUS_DIR, "LibriSpeech", "dev-clean")
    folder = tmp_path / "audio"
    shutil.copytree(src, folder)
    flacs = sorted(folder.glob("*/*/*.flac"))
    _truncate_data(str(flacs[0]))
    headers = prepare_audio_folder(
        str(folder), str(tmp_path / "h"), decode=False, progress=False
    )
    assert len(read_csv(headers)) == len(flacs)
    decoded = prepare_audio_folder(
        str(folder), str(tmp_path / "d"), decode=True, progress=False
    )
    assert str(flacs[0]) not in {r["wav"] for r in read_csv(decoded)}
    assert len(read_csv(decoded)) == len(flacs) - 1
    first = (tmp_path / "d" / "excluded_train.txt").read_text().splitlines()
    assert "excluded 1 of" in first[0] and "1 unreadable" in first[0]


REAL_KEYWORDS = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "..",
    "shared",
    "real_speech",
    "wake_words",
    "alexa",
)


@pytest.mark.skipif(
    not os.path.isdir(REAL_KEYWORDS), reason="needs ../shared/real_speech"
)
def test_real_unreadable_flac_files_are_excluded_and_counted(tmp_path):
    """The 14 keyword recordings that are unreadable upstream ("decoder
    lost sync") pass a header check; preparation finds all of them."""
    csv = prepare_audio_folder(
        REAL_KEYWORDS, str(tmp_path), progress=False, workers=2
    )
    total = len([f for f in os.listdir(REAL_KEYWORDS) if f.endswith(".flac")])
    assert len(read_csv(csv)) == total - 14
    report = (tmp_path / "excluded_train.txt").read_text().splitlines()
    assert f"excluded 14 of {total} files: 14 unreadable" in report[0]
    bad = {os.path.basename(line.split("\t")[1]) for line in report[1:]}
    expected = {32, 33, 34, 126, 127, 128, 129, 142, 144, 229, 272, 273}
    assert bad == {f"{n}.flac" for n in expected | {274, 275}}
