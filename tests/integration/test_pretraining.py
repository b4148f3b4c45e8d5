"""wav2vec 2.0 pretraining recipe on the bundled toy corpus (CPU)."""

import json

import pytest
import torch

from summary_ssl.brains.wav2vec2 import W2V2Brain
from summary_ssl.export import export_run
from summary_ssl.pretrained import FrozenSSLEncoder
from tests.audio_faults import write_tone
from tests.integration.pretrain_helpers import (
    KILL_AND_RESUME,
    assert_export_matches,
    assert_same_steps,
    read_steps,
    run_pretraining,
    straight_and_resumed,
)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """One tiny SummaryMixing pretraining run, shared by several tests."""
    folder = tmp_path_factory.mktemp("w2v2")
    brain = run_pretraining(folder)
    return folder, brain


def test_contrastive_loss_falls_and_accuracy_beats_chance(pretrained):
    folder, brain = pretrained
    steps = read_steps(folder)
    assert max(steps) == 800 and brain.optimizer_step == 800
    records = [steps[s] for s in sorted(steps)]
    first, last = records[:3], records[-5:]

    def mean(rows, key):
        return sum(r[key] for r in rows) / len(rows)

    chance = 1 / (1 + 20)
    assert mean(last, "contrastive_loss") < 0.9 * mean(
        first, "contrastive_loss"
    ), (first, last)
    assert mean(first, "accuracy") < 2 * chance
    assert mean(last, "accuracy") > 3 * chance, last
    assert all(r["code_perplexity"] > 1.5 for r in last)  # no collapse
    for key in (
        "lr",
        "temperature",
        "audio_hours_per_step",
        "audio_seconds_per_second",
        "diversity_loss",
    ):
        assert key in last[-1]


def test_validation_loss_is_logged(pretrained):
    """The epoch log's valid loss is the mean validation loss (it was 0:
    the device-side training mean swallowed it)."""
    import re

    log = (pretrained[0] / "train_log.txt").read_text()
    losses = [float(v) for v in re.findall(r"valid loss: ([-\d.e+]+)", log)]
    assert losses and all(loss > 0.1 for loss in losses)


def test_cost_report_and_export(pretrained):
    folder, brain = pretrained
    cost = json.loads((folder / "cost.json").read_text())
    assert cost["wall_seconds"] > 0 and cost["gpu_hours"] == 0.0
    exported = folder / "exported_encoder"
    ssl = FrozenSSLEncoder(exported)
    model = brain.modules["wav2vec2"].eval()
    hidden, frame_lens = assert_export_matches(ssl, model)
    assert hidden.shape[0] == 3  # input + 2 layers


def test_export_from_checkpoint_cli(pretrained, tmp_path):
    folder, brain = pretrained
    out = export_run(folder, to=tmp_path / "from_ckpt")
    ssl = FrozenSSLEncoder(out)
    ref = FrozenSSLEncoder(folder / "exported_encoder")
    wavs = torch.randn(1, 8000)
    lens = torch.ones(1)
    # The newest checkpoint is the last end-of-epoch one, which the
    # final model can be ahead of: compare architectures, and weights
    # once loaded twice from the same checkpoint.
    assert ssl(wavs, lens)[0].shape == ref(wavs, lens)[0].shape
    again = FrozenSSLEncoder(export_run(folder, to=tmp_path / "again"))
    torch.testing.assert_close(ssl(wavs, lens)[0], again(wavs, lens)[0])


def test_kill_and_resume_repeats_the_same_losses(tmp_path, monkeypatch):
    settings = dict(
        KILL_AND_RESUME,
        optimizer_step_limit=24,
        max_batch_length=10.0,
        dropout=0.1,
        layerdrop_prob=0.2,
    )
    # Killed at step 13; resumes from the step-10 ckpt.
    straight_and_resumed(
        monkeypatch, tmp_path, W2V2Brain, run_pretraining, 13, **settings
    )
    keys = ("loss", "contrastive_loss", "accuracy", "lr")
    assert_same_steps(tmp_path / "straight", tmp_path / "killed", 24, keys)


def test_bad_yaml_value_fails_before_training(tmp_path):
    with pytest.raises(ValueError, match="mask_prob"):
        run_pretraining(tmp_path, mask_prob=1.5)
    assert not (tmp_path / "train_steps.jsonl").exists()


def test_empty_folder_stops_before_training_with_a_clear_error(tmp_path):
    """``data_source: folder`` on a folder with no audio, or where every
    file is excluded, names the folder (and the exclusions) up front."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=f"No usable audio in {empty}"):
        run_pretraining(
            tmp_path / "a",
            data_source="folder",
            train_data_folder=str(empty),
            valid_data_folder=str(empty),
        )
    short = tmp_path / "short"
    write_tone(str(short / "a.wav"), 0.3)
    write_tone(str(short / "b.wav"), 0.4)
    with pytest.raises(ValueError, match="excluded 2 of 2 files: 2 too short"):
        run_pretraining(
            tmp_path / "b",
            data_source="folder",
            train_data_folder=str(short),
            valid_data_folder=str(short),
        )
    assert not (tmp_path / "b" / "train_steps.jsonl").exists()


@pytest.mark.parametrize(
    "yaml", ["flash_conformer_w2v2.yaml", "mhsa_conformer_w2v2.yaml"]
)
def test_other_recipe_yamls_train(tmp_path, yaml):
    run_pretraining(
        tmp_path, yaml=yaml, optimizer_step_limit=10, log_interval=5
    )
    steps = read_steps(tmp_path)
    assert max(steps) == 10
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in steps.values())
    assert (tmp_path / "exported_encoder" / "wav2vec2.ckpt").is_file()


def _nan_on(batches):
    """A compute_objectives that returns NaN on the given batch counts."""
    original = W2V2Brain.compute_objectives
    calls = {"n": 0}

    def compute_objectives(self, predictions, batch, stage):
        loss = original(self, predictions, batch, stage)
        if stage.name == "TRAIN":
            calls["n"] += 1
            if calls["n"] in batches:
                return loss * float("nan")
        return loss

    return compute_objectives


def test_nonfinite_loss_skips_the_step_and_is_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(W2V2Brain, "compute_objectives", _nan_on({3, 4}))
    brain = run_pretraining(
        tmp_path, optimizer_step_limit=6, log_interval=1, number_of_epochs=3
    )
    steps = read_steps(tmp_path)
    assert brain.optimizer_step == 6 and brain.nonfinite_total == 2
    assert steps[2]["nonfinite_skipped"] == 0
    assert steps[3]["nonfinite_skipped"] == 2  # batches 3, 4 skipped
    assert all(torch.isfinite(p).all() for p in brain.modules.parameters())


def test_nonfinite_losses_in_a_row_stop_training(tmp_path, monkeypatch):
    monkeypatch.setattr(
        W2V2Brain, "compute_objectives", _nan_on(set(range(1, 100)))
    )
    with pytest.raises(RuntimeError, match="non-finite losses in a row"):
        run_pretraining(tmp_path, nonfinite_patience=2, log_interval=1)


def test_nonfinite_loss_drops_its_whole_accumulation_cycle(
    tmp_path, monkeypatch
):
    """With 2 micro-batches per step, a NaN in batch 3 drops the cycle of
    batches 3-4: 8 batches give 3 optimizer steps, not 4."""
    seen = []
    original_step = W2V2Brain.optimizers_step

    def optimizers_step(self):
        seen.append(self.step)
        original_step(self)

    monkeypatch.setattr(W2V2Brain, "optimizers_step", optimizers_step)
    monkeypatch.setattr(W2V2Brain, "compute_objectives", _nan_on({3}))
    brain = run_pretraining(
        tmp_path,
        optimizer_step_limit=3,
        grad_accumulation_factor=2,
        log_interval=1,
        number_of_epochs=3,
    )
    assert brain.nonfinite_total == 1
    assert seen == [2, 6, 8]


def test_audio_that_goes_bad_after_preparation_is_skipped(tmp_path):
    """A file truncated after data preparation is dropped from its batch
    with a warning; the run finishes."""
    import shutil

    from tools.toy import PRETRAIN_TOY_OVERRIDES

    corpus = tmp_path / "LibriSpeech"
    shutil.copytree(PRETRAIN_TOY_OVERRIDES["data_folder"], corpus)
    out = tmp_path / "run"
    run_pretraining(out, data_folder=str(corpus), optimizer_step_limit=2)
    victim = sorted((corpus / "train-clean-100").rglob("*.flac"))[0]
    victim.write_bytes(victim.read_bytes()[:200])  # header kept, data cut
    (out / "train_steps.jsonl").unlink(missing_ok=True)
    for ckpt in (out / "save").glob("CKPT+*"):
        shutil.rmtree(ckpt)
    brain = run_pretraining(
        out,
        data_folder=str(corpus),
        optimizer_step_limit=30,
        number_of_epochs=2,
        skip_prep=True,
    )
    assert brain.optimizer_step == 30
