"""Tests of audio checks, exclusion reports and audio loading."""

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from summary_ssl.dataio.audio_checks import (
    EMPTY,
    MISSING,
    TOO_LONG,
    TOO_SHORT,
    UNREADABLE,
    WRONG_RATE,
    AudioCheck,
    ExclusionReport,
    check_audio,
    load_audio,
    require_path,
)
from tests.audio_faults import (
    write_corrupt,
    write_empty,
    write_resampled,
    write_tone,
)
from tools.toy.corpus import TOY_CORPUS_DIR

GOOD_FLAC = os.path.join(
    TOY_CORPUS_DIR,
    "LibriSpeech",
    "dev-clean",
    "53",
    "75173",
    "53-75173-0000.flac",
)


@pytest.fixture
def files(tmp_path):
    """One file per problem, plus a good one."""
    paths = {name: str(tmp_path / name) for name in ("good.wav", "8k.wav")}
    write_tone(paths["good.wav"], 1.0)
    write_resampled(GOOD_FLAC, paths["8k.wav"], 8000)
    paths["empty.flac"] = str(tmp_path / "empty.flac")
    write_empty(paths["empty.flac"])
    paths["nosamples.wav"] = str(tmp_path / "nosamples.wav")
    write_tone(paths["nosamples.wav"], 0.0)
    paths["corrupt.wav"] = str(tmp_path / "corrupt.wav")
    write_corrupt(paths["corrupt.wav"])
    paths["short.wav"] = str(tmp_path / "short.wav")
    write_tone(paths["short.wav"], 0.2)
    paths["missing.wav"] = str(tmp_path / "missing.wav")
    return paths


def test_check_reasons(files):
    reasons = {
        name: check_audio(path, min_duration=0.5).reason
        for name, path in files.items()
    }
    assert reasons == {
        "good.wav": None,
        "8k.wav": WRONG_RATE,
        "empty.flac": EMPTY,
        "nosamples.wav": EMPTY,
        "corrupt.wav": UNREADABLE,
        "short.wav": TOO_SHORT,
        "missing.wav": MISSING,
    }
    assert check_audio(files["good.wav"], max_duration=0.5).reason == TOO_LONG


def test_check_good_file_duration(files):
    check = check_audio(files["good.wav"])
    assert check.ok and not check.resample
    assert check.duration == pytest.approx(1.0)
    assert check.sample_rate == 16000


def test_resample_keeps_other_rates(files):
    check = check_audio(files["8k.wav"], resample=True)
    assert check.ok and check.resample and check.sample_rate == 8000
    # Length filters apply to the resampled file too.
    assert check_audio(files["8k.wav"], resample=True, min_duration=9).reason


def test_decode_catches_truncated_flac(tmp_path):
    with open(GOOD_FLAC, "rb") as fin:
        data = fin.read()
    path = tmp_path / "truncated.flac"
    path.write_bytes(data[: len(data) // 2])
    assert check_audio(str(path)).ok  # the header alone looks fine
    assert check_audio(str(path), decode=True).reason == UNREADABLE


def test_report_summary_and_file(files, tmp_path):
    report = ExclusionReport("train.csv")
    for path in files.values():
        report.add(check_audio(path, min_duration=0.5, resample=True))
    assert report.checked == 7
    assert dict(report.counts) == {
        MISSING: 1,
        EMPTY: 2,
        UNREADABLE: 1,
        TOO_SHORT: 1,
    }
    summary = report.summary()
    assert summary.startswith("train.csv: excluded 5 of 7 files: 1 missing")
    assert f"2 empty (first: {files['empty.flac']})" in summary
    assert summary.endswith("1 kept for resampling from 8000 Hz")
    out = tmp_path / "excluded_train.txt"
    report.write(str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == f"# {summary}"
    assert f"missing\t{files['missing.wav']}\t" in lines
    assert lines[-1] == f"resample\t{files['8k.wav']}\t8000 Hz"


def test_report_logs_warning_only_on_exclusions(caplog):
    report = ExclusionReport("x")
    report.add(AudioCheck("/a.wav", duration=1.0))
    with caplog.at_level("INFO"):
        report.log()
    assert caplog.records[-1].levelname == "INFO"
    report.exclude("/b.wav", "no label")
    report.log()
    assert caplog.records[-1].levelname == "WARNING"
    assert "1 no label (first: /b.wav)" in caplog.records[-1].getMessage()


def test_load_audio_matches_soundfile():
    x = load_audio(GOOD_FLAC)
    ref, rate = sf.read(GOOD_FLAC, dtype="float32")
    assert rate == 16000
    assert x.dtype == torch.float32 and x.dim() == 1
    assert torch.equal(x, torch.from_numpy(ref))


def test_load_audio_resamples_and_mixes_down(files, tmp_path):
    x = load_audio(files["8k.wav"])
    frames = sf.info(files["8k.wav"]).frames
    assert x.shape == (2 * frames,)
    stereo = tmp_path / "stereo.wav"
    sf.write(str(stereo), np.stack([np.ones(100), -np.ones(100)], 1) / 2, 16000)
    y = load_audio(str(stereo))
    assert y.shape == (100,) and float(y.abs().max()) == 0.0


def test_require_path(tmp_path):
    assert require_path(str(tmp_path), "folder") == str(tmp_path)
    missing = str(tmp_path / "slurp" / "train.jsonl")
    with pytest.raises(FileNotFoundError, match="SLURP annotations"):
        require_path(missing, "SLURP annotations")
    with pytest.raises(FileNotFoundError) as err:
        require_path(missing, "SLURP annotations")
    assert missing in str(err.value)
