"""The distillation recipe on the toy corpus, with a toy teacher."""

import json
import pathlib
import shutil

import pytest
import torch

from summary_ssl.brains.distillation import DistillationBrain
from summary_ssl.brains.recipe import run_pretraining
from summary_ssl.pretrained import (
    WEIGHTS,
    FrozenSSLEncoder,
    build_encoder,
)
from tests.conftest import import_file
from tests.probe_helpers import export_tiny_encoder
from tools.toy import (
    PRETRAIN_TOY_OVERRIDES,
    REPO,
    TOY_DATA_KEYS,
    to_argv,
)

RECIPE = REPO / "recipes" / "LibriSpeech" / "distillation"
YAML = RECIPE / "hparams" / "distil_summarymixing.yaml"
STEPS = 40

# The toy corpus and sizes of PRETRAIN_TOY_OVERRIDES; a 4 x 32 teacher.
DISTILL_TOY_OVERRIDES = {
    **{key: PRETRAIN_TOY_OVERRIDES[key] for key in TOY_DATA_KEYS},
    "optimizer_step_limit": STEPS,
    "lr": 0.002,
    "warmup_steps": 5,
    "dropout": 0.0,
    "teacher_layers": [2, 4],
}


def export_toy_teacher(folder):
    """A randomly initialised 4 x 32 SummaryMixing teacher, exported."""
    return export_tiny_encoder(folder, 4, 32, (32, 32), kernel_size=7)


def argv(output, teacher, **extra):
    overrides = dict(DISTILL_TOY_OVERRIDES, teacher_folder=str(teacher))
    overrides.update(output_folder=str(output), **extra)
    return to_argv(YAML, overrides) + ["--device=cpu", "--noprogressbar"]


class WatchedBrain(DistillationBrain):
    """Records, at every training step, the teacher's mode and whether any
    of its parameters requires or holds a gradient."""

    def compute_forward(self, batch, stage):
        out = super().compute_forward(batch, stage)
        teacher = self.modules.teacher
        self.watch.append(
            (
                teacher.wav2vec2.training,
                any(p.requires_grad for p in teacher.parameters()),
            )
        )
        return out

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        params = self.modules.teacher.parameters()
        self.teacher_grads += sum(p.grad is not None for p in params)
        super().on_fit_batch_end(batch, outputs, loss, should_step)

    def on_fit_start(self):
        self.watch, self.teacher_grads = [], 0
        super().on_fit_start()


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("distil")
    teacher = export_toy_teacher(tmp / "teacher")
    brain = run_pretraining(WatchedBrain, argv(tmp / "out", teacher))
    return brain, teacher, tmp / "out"


def read_logs(output):
    lines = (output / "train_steps.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_teacher_is_frozen_and_unchanged(distilled):
    brain, teacher, _ = distilled
    assert brain.optimizer_step == STEPS
    assert len(brain.watch) >= STEPS
    assert not any(training for training, _ in brain.watch)
    assert not any(requires for _, requires in brain.watch)
    assert brain.teacher_grads == 0
    optimized = {
        id(p) for g in brain.optimizer.param_groups for p in g["params"]
    }
    assert not optimized & {id(p) for p in brain.modules.teacher.parameters()}
    on_disk = torch.load(teacher / WEIGHTS, map_location="cpu")
    after = brain.modules.teacher.wav2vec2.state_dict()
    assert on_disk.keys() == after.keys()
    for name, value in on_disk.items():
        assert torch.equal(value, after[name]), name  # bit-identical


def test_student_gets_closer_to_the_teacher(distilled):
    _, _, output = distilled
    logs = read_logs(output)
    first, last = logs[0], logs[-1]
    assert last["step"] == STEPS
    for head in (0, 1):
        assert last[f"l1_{head}"] < 0.9 * first[f"l1_{head}"]
        assert last[f"cos_{head}"] > first[f"cos_{head}"] + 0.05
    assert last["loss"] < first["loss"]


def test_exported_student_loads_in_the_probes_encoder(distilled):
    brain, _, output = distilled
    folder = output / "exported_encoder"
    frozen = FrozenSSLEncoder(folder)
    assert (frozen.num_layers, frozen.out_dim) == (3, 32)  # 2 layers
    state = torch.load(folder / WEIGHTS, map_location="cpu")
    assert not any("head" in name for name in state)
    student = brain.modules.student
    for name, value in student.state_dict().items():
        assert torch.equal(value, state[name]), name
    hidden, lens = frozen(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    assert hidden.shape[:2] == (3, 2) and torch.isfinite(hidden).all()
    assert json.loads((folder / "meta.json").read_text())["optimizer_step"]
    # The teacher is a bigger encoder of the same kind.
    assert build_encoder(folder).num_hidden_states == 3


def test_resumes_from_its_checkpoint(distilled, tmp_path):
    brain, teacher, output = distilled
    copy = tmp_path / "out"
    shutil.copytree(output, copy)
    more = STEPS + 10
    again = run_pretraining(
        DistillationBrain,
        argv(copy, teacher, optimizer_step_limit=more, warmup_steps=0),
    )
    assert again.optimizer_step == more
    logs = read_logs(copy)
    # Resumed at STEPS: one more log line, not a second run from step 1.
    assert [r["step"] for r in logs] == list(range(10, more + 1, 10))
    assert logs[-1]["cos"] > logs[0]["cos"]


def load_train_py():
    return import_file("distillation_train", RECIPE / "train.py")


def test_teacher_layer_beyond_the_teacher_is_an_error_at_build(tmp_path):
    teacher = export_toy_teacher(tmp_path / "teacher")
    with pytest.raises(ValueError, match=r"teacher_layers \[8\] do not exist"):
        load_train_py().main(
            argv(tmp_path / "out", teacher, teacher_layers=[4, 8])
        )
    # Nothing was trained or exported.
    assert not pathlib.Path(tmp_path / "out" / "exported_encoder").exists()
