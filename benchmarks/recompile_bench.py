#!/usr/bin/env python3
"""How many graphs the compiled pretraining step needs under dynamic
batching, and how fast it runs, for several shape strategies.

It draws ``--batches`` batches from the recipe's own data pipeline and
``DynamicBatchSampler`` (by default on the bundled toy corpus, at the toy
model size of ``tools.toy``), then trains on them with
``W2V2Brain.fit_batch`` once per strategy, each from the same seed:

* ``eager``: no compilation (the reference);
* ``static``: ``dynamic=False``, one graph per distinct batch shape;
* ``pad``: ``dynamic=False`` with every waveform batch zero-padded to a
  multiple of ``--pad-seconds`` (relative lengths rescaled), so fewer
  distinct shapes;
* ``auto``: torch's default (``dynamic=None``: static first, a dimension
  becomes symbolic after it changes once);
* ``dynamic``: ``dynamic=True``, batch and time symbolic from the start.

For each it reports dynamo's compiled graphs and graph breaks, the wall
time of the whole pass (compilation included),
the median time per batch over the second half of the pass (compiled
code warm), and the mean loss over the pass (the same model and data, so
strategies should agree to float tolerance).

Example (CPU, toy corpus, a few minutes)::

    OMP_NUM_THREADS=1 python benchmarks/recompile_bench.py \\
        --json /tmp/recompile.json

Authors
-------
* summary_ssl contributors 2026
"""

import math
import statistics
import tempfile
import time
import types
from pathlib import Path

import bench_common as common  # first: puts the checkout on sys.path
import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.dataloader import make_dataloader

from summary_ssl.brains.recipe import (
    dataio_prepare,
    yaml_run_options,
)
from summary_ssl.brains.wav2vec2 import W2V2Brain
from summary_ssl.dataio.readable_batches import collate_readable
from tools.toy import (
    PRETRAIN_RECIPE,
    PRETRAIN_TOY_OVERRIDES,
    to_argv,
)

STRATEGIES = ("eager", "static", "pad", "auto", "dynamic")
DYNAMIC = {"static": False, "pad": False, "auto": None, "dynamic": True}


def load_hparams(args, output_folder):
    """The recipe YAML with the toy overrides (and ``--set`` ones), parsed
    as the recipe parses its command line."""
    overrides = dict(PRETRAIN_TOY_OVERRIDES, output_folder=str(output_folder))
    overrides.update(args.overrides)
    argv = to_argv(PRETRAIN_RECIPE / "hparams" / args.yaml, overrides)
    hparams_file, run_opts, text = sb.parse_arguments(argv)
    text = yaml_run_options(hparams_file, run_opts, text)
    with open(hparams_file, encoding="utf-8") as f:
        return load_hyperpyyaml(f, text)


def draw_batches(hparams, count):
    """``count`` batches from the recipe's sampler, over as many epochs
    as it takes."""
    (train_data, _), (sampler, _) = dataio_prepare(hparams)
    batches, epoch = [], 0
    while len(batches) < count:
        sampler.set_epoch(epoch)
        epoch += 1
        loader = make_dataloader(
            train_data,
            batch_sampler=sampler,
            collate_fn=collate_readable,
        )
        for batch in loader:
            if batch is not None:
                batches.append(batch)
            if len(batches) == count:
                break
    return batches


def pad_batch(batch, multiple):
    """A batch (``id`` and ``sig``, what the Brain reads) with the waveforms
    zero-padded to a multiple of ``multiple`` samples and the relative
    lengths rescaled to match; ``batch`` itself is left as it is."""
    wavs, lens = batch.sig
    n = wavs.shape[1]
    target = math.ceil(n / multiple) * multiple
    padded = torch.nn.functional.pad(wavs, (0, target - n))
    return types.SimpleNamespace(id=batch.id, sig=(padded, lens * n / target))


def run_strategy(name, batches, args, tmp):
    """Trains on ``batches`` with one strategy; returns its row."""
    hparams = load_hparams(args, Path(tmp) / name)
    torch.manual_seed(args.seed)
    brain = W2V2Brain(
        modules=hparams["modules"],
        opt_class=hparams["optimizer"],
        hparams=hparams,
        run_opts={
            "device": "cpu" if args.device is None else args.device,
            "precision": hparams["precision"],
            "compile": name != "eager",
            "compile_using_fullgraph": True,
            "compile_using_dynamic_shape_tracing": DYNAMIC.get(name),
        },
        checkpointer=None,
    )
    common.clear_dynamo()
    brain._compile()
    brain.init_optimizers()
    brain.modules.train()
    times, losses = [], []
    start = time.perf_counter()
    for batch in batches:
        if name == "pad":
            batch = pad_batch(batch, int(args.pad_seconds * 16000))
        t0 = time.perf_counter()
        brain.step += 1
        loss = brain.fit_batch(batch)
        losses.append(float(loss))
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    dynamo = common.dynamo_counters()
    half = times[len(times) // 2 :]
    return {
        "strategy": name,
        "dynamic": DYNAMIC.get(name),
        "graphs": dynamo.get("unique_graphs", 0),
        "graph_breaks": sum(dynamo.get("graph_breaks", {}).values()),
        "total_s": total,
        "steady_ms": 1e3 * statistics.median(half),
        "mean_loss": sum(losses) / len(losses),
        "shapes": len({tuple(b.sig[0].shape) for b in batches}),
    }


def table(rows, meta):
    """Markdown lines."""
    lines = [
        "| strategy | dynamic | graphs | graph breaks | "
        "whole pass s | steady ms/batch | mean loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['dynamic']} | {r['graphs']} | "
            f"{r['graph_breaks']} | {r['total_s']:.1f} "
            f"| {r['steady_ms']:.1f} | {r['mean_loss']:.4f} |"
        )
    return lines


def parse_args(argv):
    """Command-line options."""
    p = common.new_parser(__doc__)
    p.add_argument("--yaml", default="summarymixing_w2v2.yaml")
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--pad-seconds", type=float, default=1.0)
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--set",
        dest="set_items",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="more recipe overrides (values parsed as YAML)",
    )
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    import yaml

    args.overrides = {}
    for item in args.set_items:
        key, _, value = item.partition("=")
        args.overrides[key] = yaml.safe_load(value)
    args.strategies = [s for s in args.strategies.split(",") if s]
    unknown = set(args.strategies) - set(STRATEGIES)
    if unknown:
        p.error(f"unknown strategies {sorted(unknown)}")
    return args


def main(argv=None):
    """Runs every strategy; returns the rows."""
    argv, command = common.command_line(argv, "recompile_bench.main")
    args = parse_args(argv)
    common.raise_recompile_limits()
    rows = []
    with tempfile.TemporaryDirectory(prefix="recompile_") as tmp:
        hparams = load_hparams(args, Path(tmp) / "data")
        batches = draw_batches(hparams, args.batches)
        meta = dict(
            **common.run_meta(torch.device("cpu"), command),
            batches=len(batches),
            distinct_shapes=len({tuple(b.sig[0].shape) for b in batches}),
            batch_sizes=sorted({b.sig[0].shape[0] for b in batches}),
        )
        print(
            f"{meta['batches']} batches, {meta['distinct_shapes']} distinct "
            f"shapes, batch sizes {meta['batch_sizes']}",
            flush=True,
        )
        for name in args.strategies:
            row = run_strategy(name, batches, args, tmp)
            rows.append(row)
            print(table([row], meta)[-1], flush=True)
            common.write_json(args.json, meta, rows)
    print("\n".join(table(rows, meta)), flush=True)
    return rows


if __name__ == "__main__":
    main()
