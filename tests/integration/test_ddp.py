"""Two-process DDP pretraining on CPU (gloo), as torchrun runs it."""

import os
import pathlib
import subprocess
import sys

import pytest
import torch

REPO = pathlib.Path(__file__).resolve().parents[2]


def _run_two_ranks(output, objective, port):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            f"--master_port={port}",
            str(REPO / "tests/integration/ddp_worker.py"),
            str(output),
            objective,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(output / f"rank{r}.pt") for r in (0, 1)]
    assert ranks[0]["step"] == ranks[1]["step"] == 6
    a, b = ranks[0]["state"], ranks[1]["state"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert (output / "exported_encoder" / "wav2vec2.ckpt").is_file()
    return a


def test_two_ranks_end_with_identical_weights(tmp_path):
    """Layerdrop (0.5) and the quantiser must not need
    find_unused_parameters: the run would hang or fail otherwise."""
    _run_two_ranks(tmp_path, "wav2vec2", 29533)


@pytest.mark.parametrize("objective", ["s3lspeech"])
def test_teacher_student_ranks_end_with_identical_student_and_teacher(
    tmp_path, objective
):
    """The teacher is not DDP-wrapped: each rank moves its own copy
    towards the (all-reduced) student, so the copies must stay equal."""
    state = _run_two_ranks(tmp_path, objective, 29534)
    # The student is DDP-wrapped ("module."), the teacher is not.
    teacher = [k for k in state if k.startswith("teacher.model.")]
    assert teacher and any(k.startswith("student.module.") for k in state)
    # The teacher is an average of past students, not the student.
    assert any(
        not torch.equal(
            state[k], state["student.module." + k[len("teacher.model.") :]]
        )
        for k in teacher
    )
