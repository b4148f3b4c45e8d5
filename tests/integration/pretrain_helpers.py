"""Runs the real pretraining recipe on the toy corpus, in-process."""

import importlib.util
import json

from summary_ssl.toy import PRETRAIN_RECIPE, PRETRAIN_TOY_OVERRIDES, to_argv


def load_recipe():
    """Imports the recipe's train.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "w2v2_train", PRETRAIN_RECIPE / "train.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_pretraining(
    output_folder, yaml="summarymixing_w2v2.yaml", run_opts=(), **extra
):
    """Pretrains on the toy corpus; returns the Brain."""
    overrides = dict(PRETRAIN_TOY_OVERRIDES, output_folder=str(output_folder))
    overrides.update(extra)
    argv = to_argv(PRETRAIN_RECIPE / "hparams" / yaml, overrides)
    argv += ["--device=cpu", "--noprogressbar", *run_opts]
    return load_recipe().main(argv)


def read_steps(output_folder):
    """Step logs by step (the last record of a step wins, as after a
    resume)."""
    records = {}
    with open(output_folder / "train_steps.jsonl", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            records[record["step"]] = record
    return records
