"""The toy corpus and the settings that shrink the recipes to it.

This package (the checkout's, not part of the installed ``summary_ssl``)
holds the bundled toy corpus's generator (:mod:`tools.toy.corpus`, the
entry point of ``tools/make_toy_corpus.py``, with :mod:`tools.toy.specs`,
:mod:`tools.toy.layouts`, :mod:`tools.toy.text`, :mod:`tools.toy.recorder`
and :mod:`tools.toy.espeak`) and, here, the overrides that shrink the
pretraining recipes to that corpus.

The overrides are used by the demo (``make demo``), the benchmarks and the
tests, so they all run the real recipe and YAML (masking and objective
included), only smaller: 800 steps take about 20 s on 2 idle CPU cores.

Authors
-------
* summary_ssl contributors 2026
"""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
TOY_CORPUS = REPO / "tests" / "samples" / "toy_corpus"
PRETRAIN_RECIPE = REPO / "recipes" / "LibriSpeech" / "self-supervised-learning"
PRETRAIN_RECIPE = PRETRAIN_RECIPE / "wav2vec2"

# Overrides of hparams/*_w2v2.yaml for a tiny model on the toy corpus.
PRETRAIN_TOY_OVERRIDES = {
    "data_folder": str(TOY_CORPUS / "LibriSpeech"),
    "train_splits": ["train-clean-100"],
    "dev_splits": ["dev-clean"],
    "precision": "fp32",
    "min_duration": 0.5,
    "max_duration": 8.0,
    "max_batch_length": 8.0,
    "num_buckets": 4,
    "grad_accumulation_factor": 1,
    "number_of_epochs": 100,
    "optimizer_step_limit": 800,
    "lr": 0.002,
    "warmup_steps": 20,
    "d_model": 64,
    "num_encoder_layers": 2,
    "nhead": 4,
    "d_ffn": 128,
    "kernel_size": 15,
    "dropout": 0.0,
    "layerdrop_prob": 0.0,
    "n_mels": 40,
    "frontend_channels": [32, 32],
    "num_negatives": 20,
    "quantiser_vars": 32,
    "proj_dim": 64,
    "temperature_decay": [2.0, 0.5, 0.99],
    "num_workers": 0,
    "log_interval": 10,
    "ckpt_interval_minutes": 0,
}


S3L_RECIPE = PRETRAIN_RECIPE.parent / "s3lspeech"

# Overrides of s3lspeech*.yaml for a tiny model on the toy corpus: the
# data, batching and sizes of PRETRAIN_TOY_OVERRIDES, the perturbations
# and objective as in the YAML (fewer negatives).
# The data, batching and logging keys of PRETRAIN_TOY_OVERRIDES that every
# other toy recipe run (S3LSpeech, distillation) shares.
TOY_DATA_KEYS = (
    "data_folder",
    "train_splits",
    "dev_splits",
    "precision",
    "min_duration",
    "max_duration",
    "max_batch_length",
    "num_buckets",
    "grad_accumulation_factor",
    "number_of_epochs",
    "num_workers",
    "log_interval",
    "ckpt_interval_minutes",
)

S3L_TOY_OVERRIDES = {
    **{
        key: PRETRAIN_TOY_OVERRIDES[key]
        for key in TOY_DATA_KEYS
        + (
            "optimizer_step_limit",
            "lr",
            "d_model",
            "num_encoder_layers",
            "nhead",
            "d_ffn",
            "dropout",
            "n_mels",
            "num_negatives",
            "proj_dim",
        )
    },
    "first_stage_layers": 1,
    "front_layers": [[32, 5, 2], [64, 5, 2], [64, 1, 1]],
    "downsample_layers": [[128, 5, 2], [64, 1, 1]],
    "conv_pos_kernel": 16,
    "conv_pos_groups": 4,
    "shift_max": 8,
}


def to_argv(hparams_file, overrides):
    """SpeechBrain command-line arguments for a recipe run.

    Arguments
    ---------
    hparams_file : str or pathlib.Path
        The recipe YAML.
    overrides : dict
        Key -> value; lists are written in YAML flow style.

    Returns
    -------
    list of str

    Example
    -------
    >>> to_argv("a.yaml", {"lr": 0.1, "dev_splits": ["dev-clean"]})
    ['a.yaml', '--lr=0.1', '--dev_splits=[dev-clean]']
    """
    argv = [str(hparams_file)]
    for key, value in overrides.items():
        if isinstance(value, (list, tuple)):
            value = "[" + ", ".join(str(v) for v in value) + "]"
        argv.append(f"--{key}={value}")
    return argv
