"""Tests of the SLURP preparation on the toy corpus."""

import json
import os
import shutil
from collections import Counter

import pytest

from summary_ssl.dataio.prepare_utils import read_csv
from summary_ssl.dataio.slurp import FIELDS, prepare_slurp
from tests.audio_faults import (
    write_corrupt,
    write_empty,
    write_resampled,
    write_tone,
)
from tests.dataio_helpers import toy_split
from tools.toy.corpus import TOY_CORPUS_DIR

SLURP = os.path.join(TOY_CORPUS_DIR, "SLURP")


def _expected(split):
    return {os.path.basename(e["path"]): e for e in toy_split("SLURP", split)}


def _prepare(root, output, **options):
    """prepare_slurp without a progress bar."""
    return prepare_slurp(str(root), str(output), progress=False, **options)


def test_toy_corpus(tmp_path):
    csvs = _prepare(SLURP, tmp_path)
    assert set(csvs) == {"train", "devel", "test"}
    for split, path in csvs.items():
        rows = read_csv(path)
        assert list(rows[0]) == FIELDS
        expected = _expected(split)
        assert len(rows) == len(expected)  # one row per recording
        assert len({r["ID"] for r in rows}) == len(rows)
        for row in rows:
            entry = expected[os.path.basename(row["wav"])]
            assert row["intent"] == entry["labels"]["intent"]
            assert row["intent"] == f"{row['scenario']}_{row['action']}"
            assert row["transcript"] == entry["text"]
        intents = Counter(r["intent"] for r in rows)
        assert len(intents) == 8
    train = read_csv(csvs["train"])
    assert min(Counter(r["intent"] for r in train).values()) >= 5
    # Some sentences have several recordings (as in real SLURP).
    assert len({r["ID"].split("_")[0] for r in train}) < len(train)


def test_microphones(tmp_path):
    headset = _prepare(SLURP, tmp_path / "h", microphones="headset")
    far = _prepare(SLURP, tmp_path / "f", microphones="farfield")
    for split in ("train", "devel", "test"):
        h, f = read_csv(headset[split]), read_csv(far[split])
        assert all(r["wav"].endswith("-headset.flac") for r in h)
        assert not any(r["wav"].endswith("-headset.flac") for r in f)
        assert len(h) + len(f) == len(_expected(split))
    with pytest.raises(ValueError):
        prepare_slurp(SLURP, str(tmp_path / "x"), microphones="lapel")


def test_never_downloads_synthetic(tmp_path, caplog):
    root = tmp_path / "SLURP"
    shutil.copytree(os.path.join(SLURP, "slurp"), root / "slurp")
    with caplog.at_level("WARNING"):
        csvs = _prepare(root, tmp_path / "out", synthetic=True)
    assert "train_synthetic" not in csvs
    assert "train_synthetic.jsonl is missing" in caplog.text
    assert sorted(os.listdir(root)) == ["slurp"]  # nothing fetched
    # Without slurp_real, every recording is reported missing.
    lines = (tmp_path / "out" / "excluded_test.txt").read_text().splitlines()
    assert all(line.startswith("missing\t") for line in lines[1:])


def test_synthetic_when_present(tmp_path):
    root = tmp_path / "SLURP"
    shutil.copytree(os.path.join(SLURP, "slurp"), root / "slurp")
    line = json.loads(open(root / "slurp" / "test.jsonl").readline())
    line["recordings"] = [{"file": "synth-1.flac"}]
    (root / "slurp" / "train_synthetic.jsonl").write_text(json.dumps(line))
    write_tone(str(root / "slurp_synth" / "synth-1.flac"), 1.0)
    csvs = _prepare(root, tmp_path / "out", splits=["test"], synthetic=True)
    rows = read_csv(csvs["train_synthetic"])
    assert [r["ID"] for r in rows] == [f"synth_{line['slurp_id']}_0"]
    assert rows[0]["intent"] == line["intent"]


def test_missing_annotations(tmp_path):
    with pytest.raises(FileNotFoundError, match="slurp"):
        prepare_slurp(str(tmp_path), str(tmp_path / "out"))
    (tmp_path / "slurp").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        prepare_slurp(str(tmp_path), str(tmp_path / "out"))
    assert os.path.join(str(tmp_path), "slurp", "train.jsonl") in str(err.value)


def test_repository_layout(tmp_path):
    # The SLURP git repository keeps the jsonl files in dataset/slurp/.
    root = tmp_path / "SLURP"
    shutil.copytree(os.path.join(SLURP, "slurp"), root / "dataset" / "slurp")
    os.symlink(os.path.join(SLURP, "slurp_real"), root / "slurp_real")
    csvs = _prepare(root, tmp_path / "out")
    assert len(read_csv(csvs["devel"])) == len(_expected("devel"))


def test_exclusions(tmp_path):
    root = tmp_path / "SLURP"
    shutil.copytree(os.path.join(SLURP, "slurp"), root / "slurp")
    files = sorted(_expected("devel"))
    audio = root / "slurp_real"
    audio.mkdir()
    for name in files[:2]:
        shutil.copy(os.path.join(SLURP, "slurp_real", name), audio / name)
    write_empty(str(audio / files[2]))
    write_corrupt(str(audio / files[3]))
    write_resampled(
        os.path.join(SLURP, "slurp_real", files[4]), str(audio / files[4])
    )
    write_tone(str(audio / files[5]), 0.2)
    csvs = _prepare(root, tmp_path / "out", splits=["devel"], min_duration=0.5)
    assert len(read_csv(csvs["devel"])) == 2
    text = (tmp_path / "out" / "excluded_devel.txt").read_text()
    reasons = Counter(line.split("\t")[0] for line in text.splitlines()[1:])
    assert reasons == {
        "empty": 1,
        "unreadable": 1,
        "wrong sample rate": 1,
        "too short": 1,
        "missing": len(files) - 6,
    }
    csvs = _prepare(root, tmp_path / "out2", splits=["devel"], resample=True)
    kept = {os.path.basename(r["wav"]) for r in read_csv(csvs["devel"])}
    assert files[4] in kept
