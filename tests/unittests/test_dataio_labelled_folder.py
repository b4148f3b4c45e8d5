"""Tests of the label-per-subfolder preparation (keyword recordings)."""

import os

import pytest

from summary_ssl.dataio.labelled_folder import FIELDS, prepare_labelled_folder
from summary_ssl.dataio.prepare_utils import read_csv
from tests.audio_faults import write_tone


def _truncated_copy(source, path):
    """A FLAC whose header is fine and whose data stops half-way."""
    data = open(source, "rb").read()
    with open(path, "wb") as fout:
        fout.write(data[: len(data) // 2])


@pytest.fixture
def folder(tmp_path):
    """Two labels, 20 files each (numbered 0-19, written in shuffled
    order), and one truncated FLAC in label b."""
    root = tmp_path / "words"
    for label in ("a", "b"):
        for n in (7, 3, 19, 0, 12, 5, 18, 1, 9, 14, 2, 8, 16, 4, 11, 6, 17,
                  10, 13, 15):  # fmt: skip
            write_tone(str(root / label / f"{n}.flac"), 0.2 + 0.01 * n)
    _truncated_copy(str(root / "b" / "2.flac"), str(root / "b" / "2.flac"))
    (root / "stray.flac").write_bytes(b"")  # not in a label folder
    return root


def test_contiguous_blocks_and_exclusions(tmp_path, folder, caplog):
    """Natural-order blocks per label (80/10/10), the truncated file is
    decoded, excluded and counted, the stray file is ignored."""
    with caplog.at_level("INFO"):
        csvs = prepare_labelled_folder(
            str(folder), str(tmp_path / "csv"), progress=False
        )
    rows = {s: read_csv(csvs[s]) for s in ("train", "valid", "test")}
    assert list(rows["train"][0]) == FIELDS
    numbers = {
        s: [(r["label"], int(r["ID"].split("--")[1])) for r in rows[s]]
        for s in rows
    }
    assert numbers["test"] == [("a", 18), ("a", 19), ("b", 18), ("b", 19)]
    assert numbers["valid"] == [("a", 16), ("a", 17), ("b", 16), ("b", 17)]
    assert [n for label, n in numbers["train"] if label == "a"] == list(
        range(16)
    )
    assert [n for label, n in numbers["train"] if label == "b"] == [
        n for n in range(16) if n != 2
    ]
    excluded = (tmp_path / "csv" / "excluded_train.txt").read_text()
    assert "excluded 1 of 32 files: 1 unreadable" in excluded
    assert "b/2.flac" in excluded
    assert "stray.flac is not in a label folder" in caplog.text


def test_same_split_every_time(tmp_path, folder):
    """The split depends on the file names only."""
    first = prepare_labelled_folder(folder, tmp_path / "1", progress=False)
    second = prepare_labelled_folder(folder, tmp_path / "2", progress=False)
    for split in ("train", "valid", "test"):
        ids = [[r["ID"] for r in read_csv(c[split])] for c in (first, second)]
        assert ids[0] == ids[1]


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no audio file in a subfolder"):
        prepare_labelled_folder(tmp_path / "empty", tmp_path / "csv")


def test_real_keywords_unreadable_files(tmp_path, real_speech):
    """The 14 alexa recordings that lose sync half-way are found by
    decoding, excluded and counted; the other 315 are kept."""
    root = tmp_path / "words"
    root.mkdir()
    alexa = os.path.join(real_speech, "wake_words", "alexa")
    os.symlink(alexa, root / "alexa")
    csvs = prepare_labelled_folder(root, tmp_path / "csv", progress=False)
    kept = sum(len(read_csv(csvs[s])) for s in ("train", "valid", "test"))
    excluded = [
        line
        for s in ("train", "valid", "test")
        for line in (tmp_path / "csv" / f"excluded_{s}.txt")
        .read_text()
        .splitlines()
        if line.startswith("unreadable")
    ]
    assert kept == 315 and len(excluded) == 14
