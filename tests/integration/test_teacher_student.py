"""Teacher-student (S3LSpeech) pretraining recipe on the toy corpus (CPU)."""

import json

import pytest
import torch

from summary_ssl.brains.teacher_student import TeacherStudentBrain
from summary_ssl.export import export_run
from summary_ssl.pretrained import FrozenSSLEncoder
from summary_ssl.probes.features import FrozenFeatures
from tests.integration.pretrain_helpers import (
    KILL_AND_RESUME,
    assert_export_matches,
    assert_same_steps,
    read_steps,
    run_s3l,
    straight_and_resumed,
)
from tests.probe_helpers import run_benchmark_cli

STEPS = 200


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """One tiny SummaryMixing S3LSpeech run, shared by several tests."""
    folder = tmp_path_factory.mktemp("s3l")
    brain = run_s3l(folder, optimizer_step_limit=STEPS, log_interval=10)
    return folder, brain


def test_loss_falls_and_accuracy_beats_chance(pretrained):
    folder, brain = pretrained
    steps = read_steps(folder)
    assert max(steps) == STEPS and brain.optimizer_step == STEPS
    records = [steps[s] for s in sorted(steps)]
    first, last = records[:2], records[-5:]

    def mean(rows, key):
        return sum(r[key] for r in rows) / len(rows)

    chance = 1 / (1 + 20)
    assert mean(last, "loss") < 0.97 * mean(first, "loss"), (first, last)
    assert mean(first, "accuracy") < 2.5 * chance
    assert mean(last, "accuracy") > 2.5 * chance, last
    decays = [r["ema_decay"] for r in records]
    assert decays == sorted(decays) and 0.995 <= decays[0] < decays[-1] <= 1
    for key in ("lr", "audio_seconds_per_second", "num_frames"):
        assert key in last[-1]


def test_teacher_follows_the_student_by_ema(pretrained):
    folder, brain = pretrained
    student = brain.modules["student"]
    teacher = brain.modules["teacher"].model
    assert not any(p.requires_grad for p in teacher.parameters())
    assert all(
        id(p)
        not in {
            id(q) for g in brain.optimizer.param_groups for q in g["params"]
        }
        for p in teacher.parameters()
    )
    gaps = [
        float((s - t).detach().abs().max())
        for s, t in zip(student.parameters(), teacher.parameters())
    ]
    assert max(gaps) > 0  # an average of past students, not a copy


def test_cost_report_and_export_load_in_the_probe_features(pretrained):
    folder, brain = pretrained
    cost = json.loads((folder / "cost.json").read_text())
    assert cost["wall_seconds"] > 0
    exported = folder / "exported_encoder"
    features = FrozenFeatures("ssl", ssl_folder=exported)
    encoder = brain.modules["student"].encoder.eval()
    hidden, frame_lens = assert_export_matches(features, encoder)
    assert hidden.shape[0] == features.num_layers == 3  # input + 2 layers
    assert features.out_dim == hidden.shape[-1] == 64
    assert frame_lens[0] == 1.0 and 0.55 < frame_lens[1] < 0.65


def test_mp3s_runner_probes_the_export(pretrained, tmp_path):
    """The unchanged MP3S runner, on the CTC task (the one that needs
    enough frames per second: the hidden states come at 40 ms)."""
    folder, _ = pretrained
    out = tmp_path / "mp3s"
    run_benchmark_cli(
        folder / "exported_encoder",
        out,
        "--tasks",
        "ASR",
        "--no-baselines",
        "--epochs",
        "1",
        jobs=1,
        settings=["hidden_size=32", "batch_size=8", "num_workers=0"],
        timeout=600,
    )
    rows = [
        line
        for line in (out / "results.md").read_text().splitlines()
        if line.startswith("| ssl")
    ]
    assert len(rows) == 1 and "—" not in rows[0], rows


def test_export_from_checkpoint_cli(pretrained, tmp_path):
    folder, brain = pretrained
    out = export_run(folder, to=tmp_path / "from_ckpt")
    wavs, lens = torch.randn(1, 8000), torch.ones(1)
    ssl = FrozenSSLEncoder(out)
    # Loaded twice from the same checkpoint: same weights.
    again = FrozenSSLEncoder(export_run(folder, to=tmp_path / "again"))
    torch.testing.assert_close(ssl(wavs, lens)[0], again(wavs, lens)[0])
    ref = FrozenSSLEncoder(folder / "exported_encoder")
    assert ssl(wavs, lens)[0].shape == ref(wavs, lens)[0].shape


def test_flash_yaml_trains_and_exports(tmp_path):
    brain = run_s3l(
        tmp_path, yaml="s3lspeech.yaml", optimizer_step_limit=6, log_interval=3
    )
    steps = read_steps(tmp_path)
    assert max(steps) == 6 and brain.optimizer_step == 6
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in steps.values())
    ssl = FrozenSSLEncoder(tmp_path / "exported_encoder")
    layer = ssl.wav2vec2.encoder.stage1.layers[0]
    assert type(layer.mha_layer).__name__ == "FlashMHA"


def test_kill_and_resume_repeats_the_same_losses_and_teacher(
    tmp_path, monkeypatch
):
    settings = dict(
        KILL_AND_RESUME, optimizer_step_limit=16, grad_accumulation_factor=2
    )
    # Killed at step 13; resumes from the step-10 ckpt.
    a_brain, b_brain = straight_and_resumed(
        monkeypatch, tmp_path, TeacherStudentBrain, run_s3l, 13, **settings
    )
    keys = ("loss", "accuracy", "lr", "ema_decay")
    assert_same_steps(tmp_path / "straight", tmp_path / "killed", 16, keys)
    a_state = a_brain.modules["teacher"].state_dict()
    b_state = b_brain.modules["teacher"].state_dict()
    for key in a_state:
        torch.testing.assert_close(a_state[key], b_state[key])


def test_bad_shift_unit_fails_before_training(tmp_path):
    with pytest.raises(ValueError, match="random_shift unit"):
        run_s3l(tmp_path, shift_unit=4)
    assert not (tmp_path / "train_steps.jsonl").exists()


def test_too_short_min_duration_fails_before_training(tmp_path):
    with pytest.raises(ValueError, match="min_duration"):
        run_s3l(tmp_path, min_duration=0.2)
    assert not (tmp_path / "train_steps.jsonl").exists()
