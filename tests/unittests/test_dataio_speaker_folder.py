"""Tests of the speaker-folder preparation (SV on any recordings)."""

import os

import pytest

from summary_ssl.dataio.prepare_utils import read_csv
from summary_ssl.dataio.speaker_folder import prepare_speaker_folder
from tests.audio_faults import write_empty, write_tone


@pytest.fixture
def folders(tmp_path):
    """Test: 3 speakers x 3 files in speaker folders, one file empty.
    Train: LibriSpeech-named files, 2 speakers, one with 2 files."""
    test = tmp_path / "test"
    for spk in ("s1", "s2", "s3"):
        for n in range(3):
            write_tone(str(test / spk / f"{spk}-0-{n}.flac"), 1.0)
    write_empty(str(test / "s3" / "s3-0-2.flac"))
    train = tmp_path / "train"
    write_tone(str(train / "100-1-0.flac"), 6.0)
    write_tone(str(train / "100-1-1.flac"), 3.0)
    write_tone(str(train / "200-5-0.flac"), 3.0)
    return test, train


def test_all_pairs_and_dev_tails(tmp_path, folders):
    test, train = folders
    csvs = prepare_speaker_folder(
        test, tmp_path / "csv", train_folder=train, progress=False
    )
    trials = read_csv(csvs["trials"])
    assert len(trials) == 8 * 7 // 2  # the empty file is excluded
    assert sum(t["label"] == "1" for t in trials) == 3 + 3 + 1
    for t in trials:
        same = t["enrol"].split("--")[0] == t["test"].split("--")[0]
        assert (t["label"] == "1") == same
    excluded = (tmp_path / "csv" / "excluded_test.txt").read_text()
    assert "1 empty" in excluded
    # Each speaker's last file (natural order) is 3 s: too short for the
    # default 2-s tail. Speaker 100 has another file: the last validates
    # whole; speaker 200 has one: it trains.
    train_rows = read_csv(csvs["train"])
    assert [r["ID"] for r in train_rows] == ["100-1-0", "200-5-0"]
    assert [r["ID"] for r in read_csv(csvs["dev"])] == ["100-1-1"]
    csvs = prepare_speaker_folder(
        test, tmp_path / "csv1", train_folder=train, dev_seconds=1.0,
        progress=False,
    )  # fmt: skip
    dev_rows = read_csv(csvs["dev"])
    assert [(r["spk_id"], r["start"], r["stop"]) for r in dev_rows] == [
        ("100", "2.0", "3.0"),
        ("200", "2.0", "3.0"),
    ]
    train_rows = {r["ID"]: r for r in read_csv(csvs["train"])}
    assert train_rows["100-1-0"]["stop"] == "6.0"  # not the last file
    assert train_rows["100-1-1"]["stop"] == "2.0"
    assert float(train_rows["100-1-1"]["duration"]) == 2.0


def test_shared_speakers_are_an_error(tmp_path, folders):
    test, _ = folders
    with pytest.raises(ValueError, match="in both"):
        prepare_speaker_folder(
            test, tmp_path / "csv", train_folder=test, progress=False
        )


def test_real_speakers(tmp_path, real_speech):
    """The 10 x 10 LibriSpeech test-other speakers give the 4,950 pairs
    (450 same-speaker), the 251 train-clean-100 speakers train."""
    excerpts = os.path.join(real_speech, "librispeech_excerpts")
    csvs = prepare_speaker_folder(
        os.path.join(excerpts, "librispeech_test-other"),
        tmp_path / "csv",
        train_folder=os.path.join(excerpts, "librispeech_train-clean-100"),
        progress=False,
    )
    trials = read_csv(csvs["trials"])
    assert len(trials) == 4950
    assert sum(t["label"] == "1" for t in trials) == 450
    assert len({r["spk_id"] for r in read_csv(csvs["train"])}) == 251
    assert len(read_csv(csvs["dev"])) > 200
