"""tools/real_speech_eval.py: the pretraining folders never hold a probe's
test file, and the speaker EER is exact on separable scores."""

import importlib.util
import os

import numpy as np

TOOL = os.path.join(
    os.path.dirname(__file__), "..", "..", "tools", "real_speech_eval.py"
)
spec = importlib.util.spec_from_file_location("real_speech_eval", TOOL)
rse = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rse)


def test_equal_error_rate():
    same = np.array([1, 0, 1, 0, 0, 1])
    assert rse.equal_error_rate(np.array([3, 2, 9, 1, 0, 5.0]), same) == 0
    # one target below one non-target: 1/3 misses at 1/3 false alarms
    assert np.isclose(
        rse.equal_error_rate(np.array([3, 4, 9, 1, 0, 5.0]), same), 100 / 3
    )


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
