"""Tests of the VoxCeleb1 preparation on the toy corpus."""

import os
import shutil
from collections import Counter

import pytest

from summary_ssl.dataio.prepare_utils import read_csv
from summary_ssl.dataio.voxceleb import (
    FIELDS,
    TRIAL_FIELDS,
    prepare_voxceleb,
    read_trials,
    utterance_id,
)
from tests.audio_faults import (
    write_corrupt,
    write_empty,
    write_resampled,
    write_tone,
)
from tests.dataio_helpers import toy_split
from tools.toy.corpus import TOY_CORPUS_DIR, load_manifest

VOX = os.path.join(TOY_CORPUS_DIR, "VoxCeleb1")


def _expected(split):
    """Utterance ID -> duration of a manifest split (dev or test)."""
    return {
        utterance_id(e["path"].split("/", 2)[2]): e["num_samples"] / 16000
        for e in toy_split("VoxCeleb1", split)
    }


def test_toy_corpus(tmp_path):
    csvs = prepare_voxceleb(VOX, str(tmp_path), progress=False)
    train, dev, test = (read_csv(csvs[s]) for s in ("train", "dev", "test"))
    assert list(train[0]) == FIELDS
    assert {r["ID"] for r in train + dev} == set(_expected("dev"))
    assert not {r["ID"] for r in train} & {r["ID"] for r in dev}
    assert {r["ID"] for r in test} == set(_expected("test"))
    # Every training speaker has utterances in both train and dev.
    assert {r["spk_id"] for r in train} == {r["spk_id"] for r in dev}
    test_speakers = {r["spk_id"] for r in test}
    assert not test_speakers & {r["spk_id"] for r in train}
    assert all(10270 <= int(s[2:]) <= 10309 for s in test_speakers)
    # Nothing is dropped for being short (all toy utterances are < 3 s).
    assert max(float(r["duration"]) for r in test) < 3.0
    trials = read_csv(csvs["trials"])
    assert list(trials[0]) == TRIAL_FIELDS
    assert len(trials) == len(read_trials(os.path.join(VOX, "veri_test2.txt")))
    assert Counter(t["label"] for t in trials) == {"0": 20, "1": 20}
    for trial in trials:
        assert os.path.isabs(trial["enrol_wav"])
        assert os.path.isfile(trial["test_wav"])
        same = trial["enrol"].split("--")[0] == trial["test"].split("--")[0]
        assert same == (trial["label"] == "1")


def test_missing_trial_list(tmp_path):
    root = tmp_path / "VoxCeleb1"
    os.makedirs(root / "wav")
    with pytest.raises(FileNotFoundError) as err:
        prepare_voxceleb(str(root), str(tmp_path / "out"))
    assert str(root / "veri_test2.txt") in str(err.value)


def test_length_filter_is_counted(tmp_path, caplog):
    durations = _expected("test")
    cut = sorted(durations.values())[len(durations) // 2]
    with caplog.at_level("WARNING"):
        csvs = prepare_voxceleb(
            VOX, str(tmp_path), min_duration=cut, progress=False
        )
    short = [u for u, d in durations.items() if d < cut]
    kept = {r["ID"] for r in read_csv(csvs["test"])}
    assert kept == set(durations) - set(short)
    assert f"excluded {len(short)} of {len(durations)} files" in caplog.text
    trials = read_csv(csvs["trials"])
    assert all(t["enrol"] in kept and t["test"] in kept for t in trials)
    assert "dropped" in caplog.text


def test_exclusions(tmp_path):
    root = tmp_path / "VoxCeleb1"
    shutil.copytree(VOX, root)
    test_rel = sorted(
        e["path"].split("/", 2)[2]
        for e in load_manifest()["audio"]
        if e["dataset"] == "VoxCeleb1" and e["split"] == "test"
    )
    paths = [str(root / "wav" / rel) for rel in test_rel]
    write_empty(paths[0])
    write_corrupt(paths[1])
    write_resampled(paths[2], paths[2], 8000)
    write_tone(paths[3], 0.2)
    os.remove(paths[4])
    csvs = prepare_voxceleb(
        str(root), str(tmp_path / "out"), min_duration=0.5, progress=False
    )
    assert len(read_csv(csvs["test"])) == len(test_rel) - 5
    text = (tmp_path / "out" / "excluded_test.txt").read_text()
    reasons = {
        line.split("\t")[1]: line.split("\t")[0]
        for line in text.splitlines()[1:]
    }
    assert reasons == {
        paths[0]: "empty",
        paths[1]: "unreadable",
        paths[2]: "wrong sample rate",
        paths[3]: "too short",
        paths[4]: "missing",
    }
    csvs = prepare_voxceleb(
        str(root), str(tmp_path / "out2"), resample=True, progress=False
    )
    ids = {r["ID"] for r in read_csv(csvs["test"])}
    assert utterance_id(test_rel[2]) in ids
