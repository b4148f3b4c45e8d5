"""Runs the real pretraining recipes on the toy corpus, in-process."""

import importlib.util
import json

from summary_ssl.toy import (
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
