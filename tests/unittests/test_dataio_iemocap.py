"""Tests of the IEMOCAP preparation on the toy corpus."""

import os
import re
import shutil
from collections import Counter

import pytest

from summary_ssl.dataio.iemocap import FIELDS, LABEL_MAP, prepare_iemocap
from summary_ssl.dataio.prepare_utils import read_csv
from tests.audio_faults import (
    write_corrupt,
    write_empty,
    write_resampled,
    write_tone,
)
from tools.toy.corpus import TOY_CORPUS_DIR, load_manifest

IEMOCAP = os.path.join(TOY_CORPUS_DIR, "IEMOCAP")
RELEASE = os.path.join(IEMOCAP, "IEMOCAP_full_release")


def _expected(session):
    """Utterance -> 4-class label of a session, from the manifest."""
    entries = load_manifest()["audio"]
    return {
        os.path.basename(e["path"])[:-4]: LABEL_MAP[e["labels"]["emotion"]]
        for e in entries
        if e["split"] == f"Session{session}"
        and e["labels"].get("emotion") in LABEL_MAP
    }


def _labels(path):
    return {r["ID"]: r["emo"] for r in read_csv(path)}


def _copy_sessions(tmp_path, *sessions):
    """A release folder under ``tmp_path`` with copies of ``sessions``."""
    root = tmp_path / "IEMOCAP_full_release"
    for session in sessions:
        name = f"Session{session}"
        shutil.copytree(os.path.join(RELEASE, name), root / name)
    return root


def test_toy_corpus_default_fold(tmp_path, caplog):
    with caplog.at_level("INFO"):
        csvs = prepare_iemocap(IEMOCAP, str(tmp_path), progress=False)
    train, valid, test = (_labels(csvs[s]) for s in ("train", "valid", "test"))
    assert test == _expected(5)
    assert valid == _expected(4)
    assert train == {**_expected(1), **_expected(2), **_expected(3)}
    for labels in (train, valid, test):
        assert set(labels.values()) == {"neu", "hap", "sad", "ang"}
        counts = Counter(labels.values())
        assert len(set(counts.values())) == 1  # balanced in the toy corpus
    rows = read_csv(csvs["test"])
    assert list(rows[0]) == FIELDS
    for row in rows:
        assert row["session"] == "5"
        assert re.fullmatch(r"Ses05[FM]", row["spk_id"])
        assert row["spk_id"][-1] == row["ID"].rsplit("_", 1)[1][0]
        assert os.path.isfile(row["wav"])
    # exc is merged into hap; fru and xxx are skipped and counted.
    assert "skipped 2 utterances with other labels: fru 1, xxx 1" in caplog.text


def test_fold_rules(tmp_path):
    csvs = prepare_iemocap(
        RELEASE, str(tmp_path / "f1"), test_session=1, progress=False
    )
    assert _labels(csvs["valid"]) == _expected(5)
    csvs = prepare_iemocap(
        IEMOCAP,
        str(tmp_path / "f3"),
        test_session=3,
        valid_session=1,
        progress=False,
    )
    assert _labels(csvs["valid"]) == _expected(1)
    assert _labels(csvs["train"]) == {
        **_expected(2),
        **_expected(4),
        **_expected(5),
    }
    with pytest.raises(ValueError):
        prepare_iemocap(IEMOCAP, str(tmp_path / "x"), valid_session=5)


def test_subset_of_sessions(tmp_path, caplog):
    _copy_sessions(tmp_path, 1, 2, 5)
    with caplog.at_level("WARNING"):
        csvs = prepare_iemocap(
            str(tmp_path), str(tmp_path / "out"), progress=False
        )
    assert "Session3 is missing" in caplog.text
    assert _labels(csvs["valid"]) == _expected(2)
    assert _labels(csvs["train"]) == _expected(1)
    with pytest.raises(FileNotFoundError, match="test session 4"):
        prepare_iemocap(str(tmp_path), str(tmp_path / "o2"), test_session=4)


def test_missing_labels_folder(tmp_path):
    root = _copy_sessions(tmp_path, 1, 2)
    shutil.rmtree(root / "Session2" / "dialog" / "EmoEvaluation")
    with pytest.raises(FileNotFoundError) as err:
        prepare_iemocap(str(root), str(tmp_path / "out"), test_session=1)
    assert os.path.join("Session2", "dialog", "EmoEvaluation") in str(err.value)


def test_ignores_subfolders_and_macos_files(tmp_path):
    root = _copy_sessions(tmp_path, 1, 5)
    emo = root / "Session1" / "dialog" / "EmoEvaluation"
    (emo / "Categorical").mkdir()
    first = sorted(emo.glob("*.txt"))[0]
    text = first.read_text().replace("\tneu\t", "\tang\t")
    (emo / "Categorical" / first.name).write_text(text)
    (emo / f"._{first.name}").write_bytes(b"\x00\x05\x16\x07 binary")
    csvs = prepare_iemocap(str(root), str(tmp_path / "out"), progress=False)
    assert _labels(csvs["valid"]) == _expected(1)


def test_exclusions(tmp_path):
    root = _copy_sessions(tmp_path, 1, 5)
    wav_dir = root / "Session5" / "sentences" / "wav"
    wavs = sorted(p for p in wav_dir.glob("*/*.wav") if p.stem in _expected(5))
    write_empty(str(wavs[0]))
    write_corrupt(str(wavs[1]))
    write_resampled(str(wavs[2]), str(wavs[2]), 8000)
    write_tone(str(wavs[3]), 0.2)
    wavs[4].unlink()
    csvs = prepare_iemocap(
        str(root), str(tmp_path / "out"), min_duration=0.5, progress=False
    )
    assert len(read_csv(csvs["test"])) == len(_expected(5)) - 5
    text = (tmp_path / "out" / "excluded_test.txt").read_text()
    reasons = {
        os.path.basename(line.split("\t")[1])[:-4]: line.split("\t")[0]
        for line in text.splitlines()[1:]
    }
    assert reasons == {
        wavs[0].stem: "empty",
        wavs[1].stem: "unreadable",
        wavs[2].stem: "wrong sample rate",
        wavs[3].stem: "too short",
        wavs[4].stem: "missing",
    }
    csvs = prepare_iemocap(
        str(root), str(tmp_path / "out2"), resample=True, progress=False
    )
    assert wavs[2].stem in _labels(csvs["test"])


@pytest.mark.parametrize("speaker", [1, 4, 9])
def test_speaker_split(tmp_path, speaker):
    """MP3S's fold: the test speaker is alone in test, the other speaker
    of its session validates, the four other sessions train; no test
    speaker appears in train or valid."""
    csvs = prepare_iemocap(
        IEMOCAP, str(tmp_path), test_speaker=speaker, progress=False
    )
    rows = {s: read_csv(csvs[s]) for s in ("train", "valid", "test")}
    session, gender = (speaker + 1) // 2, "F" if speaker % 2 else "M"
    other = "M" if gender == "F" else "F"
    speakers = {s: {r["spk_id"] for r in rows[s]} for s in rows}
    assert speakers["test"] == {f"Ses{session:02d}{gender}"}
    assert speakers["valid"] == {f"Ses{session:02d}{other}"}
    assert not speakers["test"] & (speakers["train"] | speakers["valid"])
    assert {r["session"] for r in rows["train"]} == {
        str(s) for s in range(1, 6) if s != session
    }
    everything = {**_expected(session)}
    split = {r["ID"] for s in ("valid", "test") for r in rows[s]}
    assert split == set(everything)  # the session's two speakers, all


def test_speaker_out_of_range(tmp_path):
    with pytest.raises(ValueError, match="speakers are 1 to 10"):
        prepare_iemocap(IEMOCAP, str(tmp_path), test_speaker=11)
