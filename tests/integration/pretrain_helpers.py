"""Runs the real pretraining recipes on the toy corpus, in-process."""

import importlib.util
import json
import tempfile

from tools.toy import (
    PRETRAIN_RECIPE,
    PRETRAIN_TOY_OVERRIDES,
    S3L_RECIPE,
    S3L_TOY_OVERRIDES,
    to_argv,
)


def load_recipe(recipe=PRETRAIN_RECIPE):
    """Imports a recipe's train.py as a module."""
    spec = importlib.util.spec_from_file_location(
        f"{recipe.name}_train", recipe / "train.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
