"""Does pretraining learn on real speech? One command, 25 to 37 minutes
on 2 CPU cores, depending on the host (issue 9, item 3).

It links the pretraining audio of ``real_speech/`` in place (see
``tools/real_speech_eval.py``: the train-clean-100 excerpts and 70 % of
each keyword's recordings; the probes' test files are never linked),
pretrains the wav2vec 2.0 recipe shrunk to 4 x 128 with the settings of
``CHECK_OVERRIDES`` (printed: among them the utterance-level term on
layer 0 with a bank of 1,024 utterances, beside wav2vec 2.0's loss; the
paper's loss alone with ``--set utterance_contrast_weight=0 --set
utterance_bank_size=0``), then probes, layer by layer, the
pretrained encoder, the same encoder before pretraining (its own random
initial weights, ``random-init``), another random draw of it (seed 0)
and 80 log-mel filterbanks, and prints one table: best and top layer for
keyword accuracy (100 and 10 labels per keyword) and speaker EER.

Usage::

    python tools/real_speech_check.py --work /tmp/rs_check
    python tools/real_speech_check.py --work /tmp/rs_check --steps 200 \\
        --set lr=0.001                     # any recipe key

A killed run started again with the same ``--work`` resumes pretraining
from its last checkpoint (``train.py``'s checkpointer).

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

import real_speech_eval as rse
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(
    REPO, "recipes", "LibriSpeech", "self-supervised-learning", "wav2vec2"
)
YAML = "hparams/summarymixing_w2v2.yaml"
# The check's pretraining settings; the rest is hparams/summarymixing_w2v2.yaml.
# Why each one differs from the YAML: the recipe README, "On real speech".
CHECK_OVERRIDES = {
    "d_model": 128,
    "num_encoder_layers": 4,
    "nhead": 4,
    "d_ffn": 512,
    "frontend_normalisation": "utterance",
    "positional_encoding": None,
    "feature_grad_mult": 0,
    "lr": 0.0005,
    "utterance_contrast_weight": 1.0,
    "utterance_contrast_layer": 0,
    "utterance_bank_size": 1024,
    "precision": "bf16",
    "device": "cpu",
    "min_duration": 1.0,
    "max_duration": 20.0,
    "max_batch_length": 30,
    "num_buckets": 10,
    "grad_accumulation_factor": 1,
    "number_of_epochs": 1000,
    "num_workers": 0,
    "log_interval": 100,
    "ckpt_interval_minutes": 5,
}


def recipe_overrides(work, steps, extra):
    """The check's recipe keys: ``CHECK_OVERRIDES``, the data folders
    under ``work``, the step limit and ``extra`` (strings, as on a
    command line)."""
    overrides = dict(CHECK_OVERRIDES)
    overrides.update(
        data_source="folder",
        data_folder=work,
        train_data_folder=os.path.join(work, "train"),
        valid_data_folder=os.path.join(work, "valid"),
        output_folder=os.path.join(work, "pretrain"),
        optimizer_step_limit=steps,
        warmup_steps=steps // 10,
    )
    overrides.update(extra)
    return {k: "null" if v is None else str(v) for k, v in overrides.items()}


def export_initial(work, overrides):
    """Exports the encoder that pretraining starts from: the recipe YAML
    loaded with the same keys builds it under the YAML's seed, exactly as
    train.py does. Returns its folder."""
    from hyperpyyaml import load_hyperpyyaml
    from speechbrain.core import RunOptions

    from summary_ssl.pretrained import export_encoder

    with open(os.path.join(RECIPE, YAML), encoding="utf-8") as f:
        text = f.read()
    # Run options such as ``device`` are train.py's, not the YAML's.
    run_options = RunOptions().as_dict()
    keys = {
        k: v
        for k, v in overrides.items()
        if k not in run_options or re.search(rf"^{k}:", text, re.M)
    }
    keys["output_folder"] = os.path.join(work, "initial")
    hparams = load_hyperpyyaml(
        text, "\n".join(f"{k}: {v}" for k, v in keys.items())
    )
    folder = os.path.join(work, "initial", "exported_encoder")
    return str(export_encoder(hparams["encoder_to_export"], folder))


def pretrain(overrides):
    """Runs the recipe's train.py; returns the exported encoder folder."""
    args = [f"--{k}={v}" for k, v in overrides.items()]
    print(f"pretraining: train.py {YAML}", *args)
    subprocess.run(
        [sys.executable, "train.py", YAML] + args, cwd=RECIPE, check=True
    )
    return os.path.join(overrides["output_folder"], "exported_encoder")


def summary(name, rows, seconds):
    """One table row: best / top layer of each probe."""
    top = rows[-1]
    kw100 = max(r["kw100"] for r in rows)
    kw10 = max(r["kw10"] for r in rows)
    eer = min(r["sv_eer"] for r in rows)
    return {
        "features": name,
        "kw100": kw100,
        "kw10": kw10,
        "sv_eer": eer,
        "cells": (
            f"{kw100} / {top['kw100']}",
            f"{kw10} / {top['kw10']}",
            f"{eer} / {top['sv_eer']}",
        ),
        "seconds": round(seconds),
    }


def probe_all(encoder, initial, root):
    """Summaries of the pretrained encoder, its initial weights, another
    random draw and fbank."""
    from summary_ssl.pretrained import FrozenSSLEncoder
    from summary_ssl.probes.features import FbankFeatures

    out = []
    for name, make in (
        ("pretrained", lambda: FrozenSSLEncoder(encoder)),
        ("random-init", lambda: FrozenSSLEncoder(initial)),
        (
            "random-init (seed 0)",
            lambda: FrozenSSLEncoder(encoder, random_init=True),
        ),
        ("fbank", lambda: FbankFeatures(80)),
    ):
        torch.manual_seed(0)
        start = time.time()
        rows, counts = rse.evaluate(make(), root)
        print(f"probed {name} in {time.time() - start:.0f} s ({counts})")
        out.append((summary(name, rows, time.time() - start), rows))
    return out


def verdict(results):
    """Lines saying whether the pretrained row wins each column against
    each other row."""
    by = {s["features"]: s for s, _ in results}
    ssl = by.pop("pretrained")
    lines = []
    for key, label, better in (
        ("kw100", "keywords, 100 labels", max),
        ("kw10", "keywords, 10 labels", max),
        ("sv_eer", "speaker EER", min),
    ):
        for other in by:
            ref = by[other][key]
            won = better(ssl[key], ref) == ssl[key] and ssl[key] != ref
            lines.append(
                f"{label}: pretrained {ssl[key]} vs {other} {ref}: "
                + ("wins" if won else "does NOT win")
            )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="working folder")
    parser.add_argument("--root", default=rse.DEFAULT_ROOT)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key (repeatable)",
    )
    args = parser.parse_args()
    if not os.path.isdir(args.root):
        parser.error(f"no real_speech folder at {args.root} (--root)")
    bad = [s for s in args.set if "=" not in s]
    if bad:
        parser.error(f"--set takes KEY=VALUE, not {bad[0]!r}")
    extra = dict(s.split("=", 1) for s in args.set)
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    if not os.path.isdir(os.path.join(args.work, "train")):
        rse.link_train_folder(args.root, args.work)
    overrides = recipe_overrides(args.work, args.steps, extra)
    initial = export_initial(args.work, overrides)
    start = time.time()
    encoder = pretrain(overrides)
    minutes = (time.time() - start) / 60
    results = probe_all(encoder, initial, args.root)
    print(f"\npretraining: {args.steps} steps, {minutes:.1f} min")
    print(
        "| features | kw100 % best / top | kw10 % best / top | "
        "SV EER % best / top |\n|---|---|---|---|"
    )
    for s, _ in results:
        print(f"| {s['features']} | " + " | ".join(s["cells"]) + " |")
    print("\n" + "\n".join(verdict(results)))
    with open(os.path.join(args.work, "check.json"), "w") as f:
        json.dump(
            {
                "steps": args.steps,
                "pretrain_minutes": round(minutes, 1),
                "overrides": {**CHECK_OVERRIDES, **extra},
                "results": [{**s, "rows": rows} for s, rows in results],
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
