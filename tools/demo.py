"""The README's first command: pretrain, then probe, on the toy corpus.

1. Pretrains a tiny SummaryMixing wav2vec 2.0 on the bundled toy
   LibriSpeech (the real recipe and YAML, shrunk by
   ``tools.toy.PRETRAIN_TOY_OVERRIDES``).
2. Runs one MP3S probe (SLURP intent classification, linear on mean-pooled
   features) on the exported encoder, and on the two baselines, and
   prints the table.

On 2 CPU cores this takes a few minutes; with a GPU it runs there.
Everything goes to ``results/demo/``.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tools.toy import (  # noqa: E402
    PRETRAIN_RECIPE,
    PRETRAIN_TOY_OVERRIDES,
    REPO,
    TOY_CORPUS,
    to_argv,
)


def pretrain(output, device, steps):
    """Runs the pretraining recipe; returns the exported encoder folder."""
    overrides = dict(
        PRETRAIN_TOY_OVERRIDES,
        output_folder=str(output),
        optimizer_step_limit=steps,
    )
    argv = to_argv(
        PRETRAIN_RECIPE / "hparams/summarymixing_w2v2.yaml", overrides
    )
    subprocess.run(
        [
            sys.executable,
            str(PRETRAIN_RECIPE / "train.py"),
            *argv[0:1],
            *argv[1:],
            f"--device={device}",
        ],
        check=True,
        cwd=PRETRAIN_RECIPE,
    )
    return output / "exported_encoder"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=str(REPO / "results" / "demo"))
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--probe-epochs", type=int, default=15)
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu"
    )
    args = parser.parse_args()
    output = pathlib.Path(args.output).resolve()
    start = time.time()
    print(
        f"[1/2] Pretraining a tiny SummaryMixing wav2vec 2.0 on "
        f"{TOY_CORPUS / 'LibriSpeech'} ({args.steps} steps, {args.device})"
    )
    encoder = pretrain(output / "pretrain", args.device, args.steps)
    steps = [
        json.loads(line)
        for line in (output / "pretrain/train_steps.jsonl")
        .read_text()
        .splitlines()
    ]
    first, last = steps[0], steps[-1]
    print(
        f"[1/2] done: contrastive loss {first['contrastive_loss']:.3f} -> "
        f"{last['contrastive_loss']:.3f}, accuracy {first['accuracy']:.3f}"
        f" -> {last['accuracy']:.3f}; encoder exported to {encoder}"
    )
    print(
        "[2/2] MP3S SLURP intent probe on the frozen encoder, next to "
        "the same encoder randomly initialised and to filterbanks"
    )
    probe_out = output / "mp3s"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "recipes/MP3S/run_benchmark.py"),
            "--ssl_folder",
            str(encoder),
            "--output_folder",
            str(probe_out),
            "--tasks",
            "IC",
            "--epochs",
            str(args.probe_epochs),
            "--device",
            args.device,
        ],
        check=True,
    )
    print(
        f"Demo finished in {time.time() - start:.0f} s; everything is in "
        f"{output}"
    )


if __name__ == "__main__":
    main()
