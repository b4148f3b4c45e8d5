"""tools/make_gpu_carry.py: the real speech carried to the GPU machine
for gpu_check.sh's learning stage keeps the probes' exact files, and none
of their test files is pretrained on. (The stage itself runs in
tests/integration/test_gpu_check_dry.py.)"""

import os

from tests.conftest import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
rse = load_tool("real_speech_eval")
carry = load_tool("make_gpu_carry")


def _relative(items, root):
    return [(os.path.relpath(f, root), label) for f, label in items]


def test_carry_keeps_the_probe_files(real_speech, tmp_path):
    out = tmp_path / "real_speech"
    info = carry.build(real_speech, str(out), 48 * 2**20, link=True)
    assert info["bytes"] <= 48 * 2**20 and info["ls100_files"] > 0
    picks = (
        lambda r: rse.keyword_files(r)[0],
        lambda r: rse.keyword_files(r)[1],
        rse.speaker_files,
    )
    for pick in picks:
        assert _relative(pick(str(out)), out) == _relative(
            pick(real_speech), real_speech
        )
    # the pretraining folders of the subset never hold a probe's test file
    rse.link_train_folder(str(out), tmp_path / "pre")
    linked = {
        os.path.basename(f)
        for d, _, files in os.walk(tmp_path / "pre", followlinks=True)
        for f in files
    }
    _, test = rse.keyword_files(str(out))
    assert not linked & {os.path.basename(f) for f, _ in test}
