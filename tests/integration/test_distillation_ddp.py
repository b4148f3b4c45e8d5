"""Two-process DDP distillation on CPU (gloo), as torchrun runs it.

Run as a script, this file is the worker of one rank.
"""

import pathlib
import sys

import torch

from tests.integration.torchrun import torchrun

REPO = pathlib.Path(__file__).resolve().parents[2]
STEPS = 6


def worker(output, teacher):
    """One rank: distils for STEPS steps, saves what the test compares."""
    import torch.distributed as dist

    from summary_ssl.brains.distillation import DistillationBrain
    from summary_ssl.brains.recipe import run_pretraining
    from tests.integration.test_distillation import argv

    brain = run_pretraining(
        DistillationBrain,
        argv(output, teacher, optimizer_step_limit=STEPS, log_interval=2)
        + ["--distributed_backend=gloo"],
    )
    rank = dist.get_rank()
    torch.save(
        {
            "optimizer_step": brain.optimizer_step,
            "student": brain.modules.student.module.state_dict(),
            "teacher": brain.modules.teacher.wav2vec2.state_dict(),
            "teacher_wrapped": hasattr(brain.modules.teacher, "module"),
        },
        pathlib.Path(output) / f"rank{rank}.pt",
    )


def test_two_ranks_train_the_same_student(tmp_path):
    from tests.integration.test_distillation import export_toy_teacher

    teacher = export_toy_teacher(tmp_path / "teacher")
    torchrun(__file__, tmp_path / "out", teacher, port=29613)
    ranks = [torch.load(tmp_path / "out" / f"rank{r}.pt") for r in (0, 1)]
    assert [r["optimizer_step"] for r in ranks] == [STEPS, STEPS]
    assert not any(r["teacher_wrapped"] for r in ranks)  # not in DDP
    before = torch.load(teacher / "wav2vec2.ckpt")
    for name, value in ranks[0]["student"].items():
        assert torch.equal(value, ranks[1]["student"][name]), name
    for r in ranks:
        for name, value in before.items():
            assert torch.equal(value, r["teacher"][name]), name
    assert (tmp_path / "out" / "exported_encoder" / "wav2vec2.ckpt").is_file()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    worker(sys.argv[1], sys.argv[2])
