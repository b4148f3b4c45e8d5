"""Runs the real pretraining recipes on the toy corpus, in-process."""

import json
import tempfile

import pytest

from tests.conftest import import_file
from tools.toy import (
    PRETRAIN_RECIPE,
    PRETRAIN_TOY_OVERRIDES,
    S3L_RECIPE,
    S3L_TOY_OVERRIDES,
    to_argv,
)

# The pretraining YAMLs' sizes, shrunk for building them quickly (all but
# the width, heads and depth, which the tests choose).
TINY_SIZES = dict(
    d_ffn=64,
    kernel_size=7,
    n_mels=20,
    frontend_channels=[4, 2],
    proj_dim=16,
    quantiser_vars=8,
    num_negatives=10,
)


def checkpoint_every(steps):
    """Recipe settings for a checkpoint every ``steps`` optimizer steps
    and none by time, so that a run killed mid-way resumes from a known
    step."""
    return dict(ckpt_interval_minutes=0, ckpt_interval_steps=steps)


# The kill-and-resume tests' settings: a checkpoint every 5 optimizer steps
# and a step log at every step (the logs of the two runs are compared).
KILL_AND_RESUME = dict(checkpoint_every(5), log_interval=1)


def load_recipe(recipe=PRETRAIN_RECIPE):
    """Imports a recipe's train.py as a module."""
    return import_file(f"{recipe.name}_train", recipe / "train.py")


def run_pretraining(
    output_folder,
    yaml="summarymixing_w2v2.yaml",
    run_opts=(),
    recipe=PRETRAIN_RECIPE,
    toy_overrides=PRETRAIN_TOY_OVERRIDES,
    **extra,
):
    """Pretrains on the toy corpus (wav2vec 2.0 by default); returns the
    Brain."""
    overrides = dict(toy_overrides, output_folder=str(output_folder))
    overrides.update(extra)
    argv = to_argv(recipe / "hparams" / yaml, overrides)
    argv += ["--device=cpu", "--noprogressbar", *run_opts]
    return load_recipe(recipe).main(argv)


def run_s3l(output_folder, yaml="s3lspeech_summarymixing.yaml", **kwargs):
    """Teacher-student (S3LSpeech) pretraining on the toy corpus."""
    return run_pretraining(
        output_folder,
        yaml=yaml,
        recipe=S3L_RECIPE,
        toy_overrides=S3L_TOY_OVERRIDES,
        **kwargs,
    )


def read_steps(output_folder):
    """Step logs by step (the last record of a step wins, as after a
    resume)."""
    records = {}
    with open(output_folder / "train_steps.jsonl", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            records[record["step"]] = record
    return records


def toy_brain(yaml="summarymixing_w2v2.yaml", run_opts=None, **extra):
    """A W2V2Brain of the recipe YAML at the toy size, with its optimizer
    and no data or checkpointer (for stepping it by hand)."""
    from hyperpyyaml import load_hyperpyyaml

    from summary_ssl.brains.wav2vec2 import W2V2Brain

    # The YAML's checkpointer makes its folder when built: a scratch one,
    # not the working directory.
    scratch = tempfile.mkdtemp(prefix="toy_brain_")
    overrides = dict(PRETRAIN_TOY_OVERRIDES, output_folder=scratch)
    overrides.update(extra)
    with open(PRETRAIN_RECIPE / "hparams" / yaml, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    options = {"device": "cpu", "precision": "fp32"}
    options.update(run_opts or {})
    brain = W2V2Brain(
        modules=hparams["modules"],
        opt_class=hparams["optimizer"],
        hparams=hparams,
        run_opts=options,
        checkpointer=None,
    )
    brain._compile()
    brain.init_optimizers()
    brain.modules.train()
    return brain


def toy_batch(seed, lengths=(1.0, 0.7, 0.45), seconds=1.5):
    """A padded batch of random 16 kHz waveforms, as the recipe's loader
    yields it (``batch.id``, ``batch.sig = (wavs, relative lengths)``)."""
    import types

    import torch

    gen = torch.Generator().manual_seed(seed)
    n = int(seconds * 16000)
    lens = torch.tensor(lengths)
    wavs = 0.1 * torch.randn(len(lengths), n, generator=gen)
    wavs *= (torch.arange(n)[None, :] < (lens[:, None] * n)).float()
    ids = [f"toy{seed}_{i}" for i in range(len(lengths))]
    return types.SimpleNamespace(id=ids, sig=(wavs, lens))


def fit(brain, batch):
    """One micro-batch, as SpeechBrain's fit loop runs it."""
    brain.step += 1
    loss = brain.fit_batch(batch)
    brain.avg_train_loss = brain.update_average(loss, brain.avg_train_loss)
    return loss


class Killed(Exception):
    """Stands for the process being killed in the middle of a run."""


def kill_at(monkeypatch, brain_class, step):
    """Makes ``brain_class`` raise Killed once optimizer step ``step`` has
    ended (after its ``on_fit_batch_end``); returns the original method,
    to put back."""
    original = brain_class.on_fit_batch_end

    def kill(self, batch, outputs, loss, should_step):
        original(self, batch, outputs, loss, should_step)
        if self.optimizer_step == step:
            raise Killed()

    monkeypatch.setattr(brain_class, "on_fit_batch_end", kill)
    return original


def straight_and_resumed(monkeypatch, folder, brain_class, run, step, **kw):
    """``run`` (run_pretraining, run_s3l) with the settings ``kw`` twice:
    in ``folder/straight`` to the end; in ``folder/killed`` killed at
    optimizer step ``step``, then again (resuming from its last
    checkpoint). Returns the two finished Brains."""
    straight = run(folder / "straight", **kw)
    original = kill_at(monkeypatch, brain_class, step)
    with pytest.raises(Killed):
        run(folder / "killed", **kw)
    monkeypatch.setattr(brain_class, "on_fit_batch_end", original)
    return straight, run(folder / "killed", **kw)


def assert_same_steps(folder_a, folder_b, steps, keys):
    """The two runs logged steps 1 to ``steps``, with the same ``keys``."""
    a, b = read_steps(folder_a), read_steps(folder_b)
    assert sorted(a) == sorted(b) == list(range(1, steps + 1))
    for step in range(1, steps + 1):
        for key in keys:
            assert a[step][key] == pytest.approx(b[step][key], rel=1e-5), (
                step,
                key,
            )


def assert_export_matches(exported, model):
    """The exported encoder (FrozenSSLEncoder, FrozenFeatures) gives the
    trained ``model``'s hidden states on two random utterances; returns
    its (hidden states, frame lengths)."""
    import torch

    wavs = torch.randn(2, 16000)
    lens = torch.tensor([1.0, 0.6])
    hidden, frame_lens = exported(wavs, lens)
    with torch.no_grad():
        ref = model(wavs, lens)["hidden_states"]
    torch.testing.assert_close(hidden, ref)
    return hidden, frame_lens
