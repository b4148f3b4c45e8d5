"""tools/real_speech_eval.py: the pretraining folders never hold a probe's
test file, and the speaker EER is exact on separable scores."""

import os

import numpy as np
import pytest

from tests.conftest import load_tool

rse = load_tool("real_speech_eval")


def test_equal_error_rate():
    same = np.array([1, 0, 1, 0, 0, 1])
    assert rse.equal_error_rate(np.array([3, 2, 9, 1, 0, 5.0]), same) == 0
    # one target below one non-target: 1/3 misses at 1/3 false alarms
    assert np.isclose(
        rse.equal_error_rate(np.array([3, 4, 9, 1, 0, 5.0]), same), 100 / 3
    )


def test_keyword_files_refuse_more_files_than_a_block_holds(tmp_path):
    """A keyword block smaller than asked is an error, never repeats."""
    for kw in ("no", "yes"):
        folder = tmp_path / rse.KEYWORDS / kw
        folder.mkdir(parents=True)
        for i in range(10):  # 7 train, 3 test (TRAIN_SHARE)
            (folder / f"{i}.flac").touch()
    train, test = rse.keyword_files(str(tmp_path), 7, 3)
    assert len(set(train)) == len(train) == 14
    assert len(set(test)) == len(test) == 6
    with pytest.raises(ValueError, match="'no': 8 train .* holds 7"):
        rse.keyword_files(str(tmp_path), 8, 3)
    with pytest.raises(ValueError, match="'no': 4 test .* holds 3"):
        rse.keyword_files(str(tmp_path), 7, 4)


def test_pretraining_folders_hold_no_probe_test_file(real_speech, tmp_path):
    rse.link_train_folder(real_speech, tmp_path)
    linked = {
        split: {
            os.path.realpath(os.path.join(d, f))
            for d, _, files in os.walk(tmp_path / split, followlinks=True)
            for f in files
        }
        for split in ("train", "valid")
    }
    train, test = rse.keyword_files(real_speech)
    probe_test = {os.path.realpath(f) for f, _ in test}
    probe_train = {os.path.realpath(f) for f, _ in train}
    assert not probe_test & (linked["train"] | linked["valid"])
    assert not linked["train"] & linked["valid"]
    assert len(linked["valid"]) == 3 * len(rse.keyword_blocks(real_speech))
    assert probe_train - linked["valid"] <= linked["train"]
    assert len(test) == 60 * 6 and len(train) == 100 * 6


def test_check_summary_and_verdict():
    """The check's table takes the best layer (highest accuracy, lowest
    EER) and the top one, and says "wins" only on a strict improvement."""
    check = load_tool("real_speech_check")

    def rows(*layers):
        return [
            {"layer": i, "kw100": a, "kw10": b, "sv_eer": c}
            for i, (a, b, c) in enumerate(layers)
        ]

    ssl = check.summary("pretrained", rows((90, 60, 5.0), (97, 70, 9.0)), 1)
    assert (ssl["kw100"], ssl["kw10"], ssl["sv_eer"]) == (97, 70, 5.0)
    assert ssl["cells"] == ("97 / 97", "70 / 70", "5.0 / 9.0")
    rand = check.summary("random-init", rows((97, 65, 3.0)), 1)
    seed0 = check.summary("random-init (seed 0)", rows((96, 71, 4.0)), 1)
    fbank = check.summary("fbank", rows((85, 58, 6.5)), 1)
    lines = check.verdict([(ssl, []), (rand, []), (seed0, []), (fbank, [])])
    assert lines == [
        "keywords, 100 labels: pretrained 97 vs random-init 97: does NOT win",
        "keywords, 100 labels: pretrained 97 vs random-init (seed 0) 96: wins",
        "keywords, 100 labels: pretrained 97 vs fbank 85: wins",
        "keywords, 10 labels: pretrained 70 vs random-init 65: wins",
        "keywords, 10 labels: pretrained 70 vs random-init (seed 0) 71: "
        "does NOT win",
        "keywords, 10 labels: pretrained 70 vs fbank 58: wins",
        "speaker EER: pretrained 5.0 vs random-init 3.0: does NOT win",
        "speaker EER: pretrained 5.0 vs random-init (seed 0) 4.0: does NOT win",
        "speaker EER: pretrained 5.0 vs fbank 6.5: wins",
    ]
