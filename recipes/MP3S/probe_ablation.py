"""What the linear probe over the layer sum needs: a quick ablation.

For a prepared classification task (the ``train/valid/test.csv`` files of
a SLURP/IC run, e.g. the real keywords), every layer of the frozen encoder
is mean-pooled once per utterance. Then, on those pooled features:

* the reference: a logistic regression on each single layer
  (:mod:`summary_ssl.probes.layer_reference`);
* the linear probe over the learned layer sum, as ``hparams/linear.yaml``
  builds it (``WeightedLayerSum`` with its statistics, a linear layer
  without bias, Adam), under each setting of ``--configs``: input
  normalisation (``raw``, ``std``, ``whiten`` and its shrinkage), epochs,
  probe and layer-weight learning rates, whether the layer weights have
  their own Adam or share the probe's, and whether the head starts at
  zero. The test accuracy is read at the epoch of best validation
  accuracy, for each seed of ``--seeds``.

``--train_per_class N`` keeps N random training utterances per class
(draw ``--draw``), the same validation and test: where the layers differ
more in quality.

A linear probe on mean-pooled features equals one on the pooled layer sum,
so this trains what the recipe trains, minus the recipe's NewBob
annealing and data loading (hence seconds instead of minutes per run).

The pooled features are kept as ``<csv_folder>/pooled_{ssl,random_init}.pt``
(delete them after changing the encoder or the CSV files).

Usage::

    python recipes/MP3S/probe_ablation.py <run folder>/save \\
        --ssl_folder <exported_encoder> --label label --output ablation.json
    python recipes/MP3S/probe_ablation.py <run folder>/save \
        --ssl_folder <exported_encoder> --seeds 1986 1 2 \
        --train_per_class 20 --configs "fast, but random head"

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import json
import os
import time

import torch
import torch.nn as nn

from summary_ssl.pretrained import WeightedLayerSum
from summary_ssl.probes.data import csv_datasets
from summary_ssl.probes.features import FrozenFeatures
from summary_ssl.probes.layer_reference import layer_accuracies, pooled_layers
from summary_ssl.probes.standardize import LayerStatistics

#: name -> (normalisation, epochs, batch, probe lr, layer-weight lr or
#: None for the probe's Adam[, whitening shrinkage (0.01), zero-initialised
#: head (False)]): the fast protocol's linear probe first.
CONFIGS = {
    "fast (whiten 0.3, 40 ep, lr 1e-2, own 3e-2, zero head)": (
        "whiten",
        40,
        16,
        1e-2,
        3e-2,
        0.3,
        True,
    ),
    "fast before issue 22 (whiten 0.01, own 2e-3)": (
        "whiten",
        40,
        16,
        1e-2,
        2e-3,
    ),
    "fast, but shrinkage 0.01": ("whiten", 40, 16, 1e-2, 3e-2, 0.01, True),
    "fast, but weight lr 2e-3": ("whiten", 40, 16, 1e-2, 2e-3, 0.3, True),
    "fast, but random head": ("whiten", 40, 16, 1e-2, 3e-2, 0.3, False),
    "own weight lr 1e-3": ("whiten", 40, 16, 1e-2, 1e-3),
    "own weight lr 1e-2 (MP3S's)": ("whiten", 40, 16, 1e-2, 1e-2),
    "std only": ("std", 40, 16, 1e-2, 1e-2),
    "raw layers": ("raw", 40, 16, 1e-2, 1e-2),
    "10 epochs": ("whiten", 10, 16, 1e-2, 1e-2),
    "100 epochs": ("whiten", 100, 16, 1e-2, 1e-2),
    "weights share the probe's Adam": ("whiten", 40, 16, 1e-2, None),
    "own weight lr 1e-1": ("whiten", 40, 16, 1e-2, 1e-1),
    "mp3s (whiten, 20 ep, batch 2, lr 2e-4, own 1e-2)": (
        "whiten",
        20,
        2,
        2e-4,
        1e-2,
    ),
    "mp3s, weights share the probe's Adam (2e-4)": (
        "whiten",
        20,
        2,
        2e-4,
        None,
    ),
    "mp3s, raw layers": ("raw", 20, 2, 2e-4, 1e-2),
}


def pooled(csv_folder, label, ssl_folder, random_init):
    """(N, L, D) pooled layers and labels per split."""
    files = {s: os.path.join(csv_folder, f"{s}.csv") for s in CSV_SPLITS}
    datasets = csv_datasets(files, sample_rate=16000)
    torch.manual_seed(1986)
    extractor = FrozenFeatures("ssl", ssl_folder, random_init)
    classes, feats, labels = {}, {}, {}
    for split, data in datasets.items():
        feats[split], ids = pooled_layers(extractor, data)
        with data.output_keys_as(["id", label]):
            by_id = {item["id"]: item[label] for item in data}
        labels[split] = torch.tensor(
            [classes.setdefault(by_id[u], len(classes)) for u in sorted(ids)]
        )
        order = sorted(range(len(ids)), key=ids.__getitem__)
        feats[split] = feats[split][order]
    return feats, labels


CSV_SPLITS = ("train", "valid", "test")


def train_probe(feats, labels, config, seed=1986):
    """Trains one layer-sum linear probe; returns its results."""
    norm, epochs, batch, lr, lr_weights, *rest = config
    shrinkage, zero_init = (list(rest) + [0.01, False][len(rest) :])[:2]
    torch.manual_seed(seed)
    x, y = feats["train"], labels["train"]
    n_layers, dim = x.shape[1:]
    n_classes = int(y.max()) + 1
    layer_sum = WeightedLayerSum(
        n_layers,
        dim=dim,
        standardize=None if norm == "raw" else "utterance",
        whiten=norm == "whiten",
        shrinkage=shrinkage,
    )
    if norm != "raw":
        stats = LayerStatistics("utterance", covariance=norm == "whiten")
        stats.update(x.transpose(0, 1)[:, :, None], torch.ones(len(x)))
        layer_sum.set_statistics(
            *stats.result(shrinkage if norm == "whiten" else None)
        )
    head = nn.Linear(dim, n_classes, bias=False)
    if zero_init:
        nn.init.zeros_(head.weight)
    params = list(head.parameters())
    if lr_weights is None:
        optimizers = [torch.optim.Adam(params + [layer_sum.weights], lr=lr)]
    else:
        optimizers = [
            torch.optim.Adam(params, lr=lr),
            torch.optim.Adam([layer_sum.weights], lr=lr_weights),
        ]

    def logits(split):
        return head(layer_sum(feats[split].transpose(0, 1)[:, :, None])[:, 0])

    best = (-1.0, None, None)
    for epoch in range(epochs):
        for idx in torch.randperm(len(x)).split(batch):
            out = head(layer_sum(x[idx].transpose(0, 1)[:, :, None])[:, 0])
            loss = nn.functional.cross_entropy(out, y[idx])
            for opt in optimizers:
                opt.zero_grad()
            loss.backward()
            for opt in optimizers:
                opt.step()
        with torch.no_grad():
            acc = {
                s: 100.0 * (logits(s).argmax(-1) == labels[s]).float().mean()
                for s in ("valid", "test")
            }
        if acc["valid"] > best[0]:
            best = (acc["valid"].item(), acc["test"].item(), epoch + 1)
    return {
        "valid": round(best[0], 1),
        "test": round(best[1], 1),
        "best_epoch": best[2],
        "layer_weights": [
            round(w, 3) for w in layer_sum.layer_weights().tolist()
        ],
    }


def few_labels(feats, labels, per_class, draw=0):
    """Keeps ``per_class`` random training utterances of each class (the
    same valid and test): where the layers differ more in quality.

    Example
    -------
    >>> y = torch.arange(12) % 3
    >>> feats, labels = few_labels({"train": torch.randn(12, 2, 4)},
    ...                            {"train": y}, 2)
    >>> feats["train"].shape, labels["train"].bincount().tolist()
    (torch.Size([6, 2, 4]), [2, 2, 2])
    """
    gen = torch.Generator().manual_seed(draw)
    y = labels["train"]
    keep = torch.cat(
        [
            torch.nonzero(y == c)[:, 0][
                torch.randperm(int((y == c).sum()), generator=gen)[:per_class]
            ]
            for c in range(int(y.max()) + 1)
        ]
    )
    feats, labels = dict(feats), dict(labels)
    feats["train"], labels["train"] = feats["train"][keep], y[keep]
    return feats, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv_folder", help="holds train/valid/test.csv")
    parser.add_argument("--ssl_folder", required=True)
    parser.add_argument("--label", default="label")
    parser.add_argument("--output", default="probe_ablation.json")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1986], help="probe seeds"
    )
    parser.add_argument(
        "--train_per_class",
        type=int,
        default=None,
        help="keep this many training utterances per class",
    )
    parser.add_argument(
        "--draw", type=int, default=0, help="seed of that subset"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = {}
    for random_init in (False, True):
        name = "random_init" if random_init else "ssl"
        start = time.time()
        saved = os.path.join(args.csv_folder, f"pooled_{name}.pt")
        if os.path.exists(saved):  # the same CSVs and encoder only
            feats, labels = torch.load(saved)
        else:
            feats, labels = pooled(
                args.csv_folder, args.label, args.ssl_folder, random_init
            )
            torch.save((feats, labels), saved)
        if args.train_per_class:
            feats, labels = few_labels(
                feats, labels, args.train_per_class, args.draw
            )
        ref = layer_accuracies(feats, labels)
        rows = {"reference": [round(r["test"], 1) for r in ref]}
        print(f"{name}: per-layer logistic regression {rows['reference']}")
        for key in args.configs:
            for seed in args.seeds:
                row = f"{key} (seed {seed})" if len(args.seeds) > 1 else key
                rows[row] = train_probe(feats, labels, CONFIGS[key], seed)
                print(f"{name}: {row}: {rows[row]}", flush=True)
        rows["wall_s"] = round(time.time() - start)
        report[name] = rows
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
