"""Tests of the LibriSpeech preparation on the toy corpus."""

import os
import shutil

import pytest

from summary_ssl.dataio.audio_checks import load_audio
from summary_ssl.dataio.librispeech import FIELDS, prepare_librispeech
from summary_ssl.dataio.prepare_utils import read_csv
from tests.audio_faults import (
    write_corrupt,
    write_empty,
    write_resampled,
    write_tone,
)
from tests.dataio_helpers import toy_split
from tools.toy.corpus import TOY_CORPUS_DIR

LIBRI = os.path.join(TOY_CORPUS_DIR, "LibriSpeech")


def _expected(split):
    entries = toy_split("LibriSpeech", split)
    return {os.path.basename(e["path"])[: -len(".flac")]: e for e in entries}


def test_toy_corpus(tmp_path):
    csvs = prepare_librispeech(LIBRI, str(tmp_path), progress=False)
    assert set(csvs) == {"train-clean-100", "dev-clean", "test-clean"}
    speakers = {}
    for split, path in csvs.items():
        rows = read_csv(path)
        assert list(rows[0]) == FIELDS
        expected = _expected(split)
        assert {r["ID"] for r in rows} == set(expected)
        for row in rows:
            entry = expected[row["ID"]]
            assert row["wrd"] == entry["text"]
            assert row["spk_id"] == entry["speaker"]
            assert os.path.isabs(row["wav"]) and os.path.isfile(row["wav"])
            assert float(row["duration"]) == pytest.approx(
                entry["num_samples"] / 16000, abs=1e-4
            )
        speakers[split] = {r["spk_id"] for r in rows}
        excluded = tmp_path / f"excluded_{split}.txt"
        assert "kept all" in excluded.read_text()
    assert len(speakers["train-clean-100"]) == 8
    assert not speakers["train-clean-100"] & speakers["dev-clean"]


def test_skips_when_prepared(tmp_path):
    csvs = prepare_librispeech(
        LIBRI, str(tmp_path), splits=["dev-clean"], progress=False
    )
    stamp = os.stat(csvs["dev-clean"]).st_mtime_ns
    prepare_librispeech(
        LIBRI, str(tmp_path), splits=["dev-clean"], progress=False
    )
    assert os.stat(csvs["dev-clean"]).st_mtime_ns == stamp
    # Other options: prepared again.
    prepare_librispeech(
        LIBRI,
        str(tmp_path),
        splits=["dev-clean"],
        min_duration=2.0,
        progress=False,
    )
    assert len(read_csv(csvs["dev-clean"])) < len(_expected("dev-clean"))


def test_missing_split_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-clean-360"):
        prepare_librispeech(
            LIBRI, str(tmp_path / "out"), splits=["train-clean-360"]
        )


def _broken_copy(tmp_path):
    """A one-chapter copy with every kind of problem."""
    entry = next(iter(_expected("train-clean-100").values()))
    spk, chapter = entry["path"].split("/")[2:4]
    src = os.path.join(LIBRI, "train-clean-100", spk, chapter)
    root = tmp_path / "LibriSpeech"
    dst = root / "train-clean-100" / spk / chapter
    shutil.copytree(src, dst)
    utt = f"{spk}-{chapter}"
    write_empty(str(dst / f"{utt}-0001.flac"))
    write_corrupt(str(dst / f"{utt}-0002.flac"))
    write_resampled(
        str(dst / f"{utt}-0003.flac"), str(dst / f"{utt}-0003.flac"), 8000
    )
    write_tone(str(dst / f"{utt}-0004.flac"), 0.2)
    with open(dst / f"{utt}.trans.txt", "a") as fout:
        fout.write(f"{utt}-0099 A LINE WITHOUT AUDIO\n")
    return str(root), utt


def test_exclusions(tmp_path):
    root, utt = _broken_copy(tmp_path)
    out = tmp_path / "out"
    csvs = prepare_librispeech(
        root,
        str(out),
        splits=["train-clean-100"],
        min_duration=0.5,
        progress=False,
    )
    rows = read_csv(csvs["train-clean-100"])
    assert [r["ID"] for r in rows] == [f"{utt}-0000"]
    lines = (out / "excluded_train-clean-100.txt").read_text().splitlines()
    assert lines[0].startswith("# LibriSpeech train-clean-100: excluded 5 of 6")
    reasons = {
        line.split("\t")[1].rsplit("/", 1)[1]: line.split("\t")[0]
        for line in lines[1:]
    }
    assert reasons == {
        f"{utt}-0001.flac": "empty",
        f"{utt}-0002.flac": "unreadable",
        f"{utt}-0003.flac": "wrong sample rate",
        f"{utt}-0004.flac": "too short",
        f"{utt}-0099.flac": "missing",
    }


def test_resample_keeps_8k_file(tmp_path):
    root, utt = _broken_copy(tmp_path)
    csvs = prepare_librispeech(
        root,
        str(tmp_path / "out"),
        splits=["train-clean-100"],
        min_duration=0.5,
        resample=True,
        progress=False,
    )
    rows = {r["ID"]: r for r in read_csv(csvs["train-clean-100"])}
    assert set(rows) == {f"{utt}-0000", f"{utt}-0003"}
    row = rows[f"{utt}-0003"]
    audio = load_audio(row["wav"])
    assert len(audio) == pytest.approx(float(row["duration"]) * 16000, abs=2)


def test_nested_split_names_give_flat_files(tmp_path):
    """The fine-tuning splits are nested (``1h/0/clean``): each gets its
    own CSV and exclusion list in save_folder, not a missing sub-folder
    or two lists of the same name."""
    nested = tmp_path / "librispeech_finetuning" / "1h"
    for kind, split in (("clean", "dev-clean"), ("other", "test-clean")):
        shutil.copytree(os.path.join(LIBRI, split), nested / "0" / kind)
    save = tmp_path / "csv"
    csvs = prepare_librispeech(
        str(tmp_path / "librispeech_finetuning"),
        str(save),
        splits=["1h/0/clean", "1h/0/other"],
        progress=False,
    )
    assert csvs == {
        "1h/0/clean": str(save / "1h_0_clean.csv"),
        "1h/0/other": str(save / "1h_0_other.csv"),
    }
    for split, toy in (
        ("1h/0/clean", "dev-clean"),
        ("1h/0/other", "test-clean"),
    ):
        ids = {row["ID"] for row in read_csv(csvs[split])}
        assert ids == set(_expected(toy))
        stem = split.replace("/", "_")
        assert "kept all" in (save / f"excluded_{stem}.txt").read_text()
