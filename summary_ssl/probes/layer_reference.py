"""A reference for the probes: logistic regression on each single layer.

For a classification task, every layer of the frozen encoder is
mean-pooled over each utterance's real frames, standardised per dimension
with training-set statistics, and fed to a multinomial logistic
regression (L2-regularised, fitted to convergence with L-BFGS; the
regularisation picked on the validation split). The test accuracy per
layer says how much of the label each layer holds linearly; the best of
them is what a linear probe over the learned layer sum should reach.

Entry points:

* :func:`pooled_layers`: the ``(N, L, D)`` mean-pooled layers of a CSV
  dataset through a frozen extractor;
* :func:`logistic_regression`: fits one and returns its accuracies;
* :func:`layer_accuracies`: the per-layer test accuracies of pooled
  features;
* :func:`reference_summary`: the best layer and the whole row, as the
  benchmark reports them beside each probe;
* :func:`layer_reference`: all of it for an exported encoder and the CSV
  files of a prepared task.

Authors
-------
* summary_ssl contributors 2026
"""

import logging

import speechbrain as sb
import torch
import torch.nn.functional as F

from summary_ssl.nnet.padding import masked_mean
from summary_ssl.probes.data import csv_datasets
from summary_ssl.probes.features import FrozenFeatures

logger = logging.getLogger(__name__)

L2_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


@torch.no_grad()
def pooled_layers(extractor, dataset, batch_size=8, device="cpu"):
    """Mean-pooled layers of every utterance of a dataset.

    Arguments
    ---------
    extractor : summary_ssl.probes.features.FrozenFeatures
        The frozen features.
    dataset : speechbrain.dataio.dataset.DynamicItemDataset
        Provides ``id`` and ``sig``.
    batch_size : int
        Utterances per forward pass.
    device : str
        Where the extractor runs.

    Returns
    -------
    features : torch.Tensor
        (N, L, D) float32 on the CPU, in the dataset's order.
    ids : list of str
    """
    dataset.set_output_keys(["id", "sig"])
    loader = sb.dataio.dataloader.make_dataloader(
        dataset, batch_size=batch_size
    )
    extractor = extractor.to(device).eval()
    features, ids = [], []
    for batch in loader:
        wavs, lens = batch.sig
        hidden, frame_lens = extractor(wavs.to(device), lens.to(device))
        pooled = torch.stack(
            [masked_mean(layer, frame_lens) for layer in hidden], dim=1
        )
        features.append(pooled.float().cpu())
        ids += batch.id
    return torch.cat(features), ids


def _standardize(train, *others):
    """Standardises with the training statistics (per dimension)."""
    mean = train.mean(dim=0, keepdim=True)
    std = train.std(dim=0, keepdim=True).clamp_min(1e-6)
    return [(x - mean) / std for x in (train,) + others]


def _fit(x, y, n_classes, l2, max_iter):
    """Multinomial logistic regression by L-BFGS; returns (W, b)."""
    x = x.double()
    W = torch.zeros(x.shape[1], n_classes, dtype=x.dtype, requires_grad=True)
    b = torch.zeros(n_classes, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS(
        [W, b],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-7,
        tolerance_change=1e-10,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ W + b, y) + 0.5 * l2 * (W * W).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach(), b.detach()


def _accuracy(W, b, x, y):
    return 100.0 * ((x.double() @ W + b).argmax(dim=1) == y).double().mean()


def logistic_regression(
    train, valid, test, l2_grid=L2_GRID, max_iter=500, n_classes=None
):
    """Standardised multinomial logistic regression, L2 picked on valid.

    Arguments
    ---------
    train, valid, test : tuple of (torch.Tensor, torch.Tensor)
        (features (N, D), integer labels (N,)) of each split.
    l2_grid : sequence of float
        L2 strengths tried (on the summed squared weights; the loss is
        the mean cross-entropy).
    max_iter : int
        L-BFGS iterations.
    n_classes : int, optional
        Number of classes (default: from the labels).

    Returns
    -------
    dict
        ``valid`` and ``test`` accuracies (%) of the chosen ``l2``.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> y = torch.arange(200) % 2
    >>> x = 1000.0 + torch.randn(200, 5, generator=g) + 3.0 * y[:, None]
    >>> out = logistic_regression((x[:100], y[:100]), (x[100:150], y[100:150]),
    ...                           (x[150:], y[150:]))
    >>> out["test"] > 95.0
    True
    """
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (
        train,
        valid,
        test,
    )
    x_train, x_valid, x_test = _standardize(x_train, x_valid, x_test)
    if n_classes is None:
        n_classes = int(max(y.max() for y in (y_train, y_valid, y_test))) + 1
    best = None
    for l2 in l2_grid:
        W, b = _fit(x_train, y_train, n_classes, l2, max_iter)
        valid_acc = float(_accuracy(W, b, x_valid, y_valid))
        if best is None or valid_acc > best["valid"]:
            test_acc = float(_accuracy(W, b, x_test, y_test))
            best = {"valid": valid_acc, "test": test_acc, "l2": l2}
    return best


def layer_accuracies(features, labels, **kwargs):
    """Logistic regression on each layer of pooled features.

    Arguments
    ---------
    features : dict
        ``train``, ``valid``, ``test`` -> (N, L, D) pooled layers.
    labels : dict
        Same keys -> (N,) integer labels.
    **kwargs
        Passed to :func:`logistic_regression`.

    Returns
    -------
    list of dict
        Per layer (0 = the encoder's input): ``valid``, ``test`` (%) and
        ``l2``.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> y = torch.arange(120) % 3
    >>> x = torch.randn(120, 3, 4, generator=g)
    >>> x[:, 1, 0] += 4.0 * y  # only layer 1 holds the label
    >>> splits = {"train": slice(0, 80), "valid": slice(80, 100),
    ...           "test": slice(100, 120)}
    >>> acc = layer_accuracies({k: x[s] for k, s in splits.items()},
    ...                        {k: y[s] for k, s in splits.items()})
    >>> [a["test"] > 90 for a in acc]
    [False, True, False]
    """
    n_classes = int(max(int(y.max()) for y in labels.values())) + 1
    n_layers = features["train"].shape[1]
    return [
        logistic_regression(
            *[
                (features[s][:, layer], labels[s])
                for s in ("train", "valid", "test")
            ],
            n_classes=n_classes,
            **kwargs,
        )
        for layer in range(n_layers)
    ]


def reference_summary(per_layer):
    """The reference of one run, as ``metrics.json`` stores it.

    Arguments
    ---------
    per_layer : list of dict
        :func:`layer_accuracies`' output.

    Returns
    -------
    dict
        ``test`` and ``valid`` (accuracies per layer, %), ``l2`` (the
        chosen regularisation per layer), ``best_layer`` (the index of the
        highest test accuracy; the lowest index on a tie) and ``best``
        (its test accuracy).

    Example
    -------
    >>> out = reference_summary([{"valid": 50.0, "test": 40.0, "l2": 0.1},
    ...                          {"valid": 70.0, "test": 60.0, "l2": 0.01}])
    >>> out["best_layer"], out["best"], out["test"]
    (1, 60.0, [40.0, 60.0])
    """
    test = [float(r["test"]) for r in per_layer]
    best = max(range(len(test)), key=lambda i: (test[i], -i))
    return {
        "test": test,
        "valid": [float(r["valid"]) for r in per_layer],
        "l2": [float(r["l2"]) for r in per_layer],
        "best_layer": best,
        "best": test[best],
    }


def layer_reference(
    csv_files,
    label_column,
    ssl_folder=None,
    features="ssl",
    random_init=False,
    sample_rate=16000,
    batch_size=8,
    device="cpu",
    seed=1986,
):
    """Per-layer logistic-regression accuracies of a prepared task.

    Arguments
    ---------
    csv_files : dict
        ``train``, ``valid``, ``test`` -> CSV path (a preparation's
        output).
    label_column : str
        The CSV column with the class.
    ssl_folder : str, optional
        Exported encoder (for ``features="ssl"``).
    features : str
        ``ssl`` or ``fbank``.
    random_init : bool
        The random-init baseline of ``ssl_folder``.
    sample_rate : int
        Audio rate.
    batch_size : int
        Utterances per forward pass.
    device : str
        Where the extractor runs.
    seed : int
        Seed of the random-init weights.

    Returns
    -------
    list of dict
        Per layer: ``valid``, ``test`` (%), ``l2``.
    """
    torch.manual_seed(seed)
    extractor = FrozenFeatures(features, ssl_folder, random_init)
    datasets = csv_datasets(csv_files, sample_rate=sample_rate)
    classes = {}
    feats, labels = {}, {}
    for split, data in datasets.items():
        feats[split], ids = pooled_layers(extractor, data, batch_size, device)
        with data.output_keys_as(["id", label_column]):
            by_id = {item["id"]: item[label_column] for item in data}
        labels[split] = torch.tensor(
            [classes.setdefault(by_id[u], len(classes)) for u in ids]
        )
    result = layer_accuracies(feats, labels)
    logger.info(
        "single-layer logistic regression, test accuracy per layer: %s",
        [round(r["test"], 1) for r in result],
    )
    return result
