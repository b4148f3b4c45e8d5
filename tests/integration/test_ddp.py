"""Two-process DDP pretraining on CPU (gloo), as torchrun runs it."""

import os
import pathlib
import subprocess
import sys

import torch

REPO = pathlib.Path(__file__).resolve().parents[2]


def _torchrun(worker, output, port, *args):
    """Runs ``worker`` on 2 gloo ranks; returns both ranks' saved dicts."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            f"--master_port={port}",
            str(REPO / "tests/integration" / worker),
            str(output),
            *args,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [torch.load(output / f"rank{r}.pt") for r in (0, 1)], result


def _assert_same_weights(ranks):
    a, b = ranks[0]["state"], ranks[1]["state"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_two_ranks_end_with_identical_weights(tmp_path):
    """Layerdrop (0.5) and the quantiser must not need
    find_unused_parameters: the run would hang or fail otherwise."""
    ranks, _ = _torchrun("ddp_worker.py", tmp_path, 29533, "wav2vec2")
    assert ranks[0]["step"] == ranks[1]["step"] == 6
    _assert_same_weights(ranks)
    assert (tmp_path / "exported_encoder" / "wav2vec2.ckpt").is_file()


def test_a_rank_with_an_unreadable_batch_stays_in_step(tmp_path):
    """Rank 1's third batch has no readable audio. Both ranks must still
    take part in every collective (no hang), step the optimizer after the
    same micro-batches (the accumulation cycle stays aligned) and end with
    the same weights; rank 1 counts and logs the bad batch."""
    ranks, result = _torchrun("ddp_unreadable_worker.py", tmp_path, 29534)
    assert ranks[0]["step"] == ranks[1]["step"] == 4
    assert ranks[0]["stepped_at"] == ranks[1]["stepped_at"] == [2, 4, 6, 8]
    assert (ranks[0]["unreadable"], ranks[1]["unreadable"]) == (0, 1)
    assert "no readable audio" in result.stderr + result.stdout
    _assert_same_weights(ranks)


def test_teacher_student_ranks_end_with_identical_student_and_teacher(
    tmp_path,
):
    """The teacher is not DDP-wrapped: each rank moves its own copy
    towards the (all-reduced) student, so the copies must stay equal."""
    ranks, _ = _torchrun("ddp_worker.py", tmp_path, 29535, "s3lspeech")
    assert ranks[0]["step"] == ranks[1]["step"] == 6
    _assert_same_weights(ranks)
    state = ranks[0]["state"]
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
    assert (tmp_path / "exported_encoder" / "wav2vec2.ckpt").is_file()
