"""The linear probe over the learned layer sum finds the one layer that
holds the label, whatever offset and scale the layers share.

Synthetic features stand in for a frozen encoder: four layers of 32
dimensions, all on a large common offset and scale; only layer 2 encodes
the class linearly. The probe is the recipe's (SLURP/IC linear.yaml, both
protocols), trained by the recipe's Brain and optimizers for 20 epochs of
400 utterances: under ``mp3s`` (batch 2, lr 2e-4) that is 4,000 steps,
far fewer than MP3S's real tasks get (hundreds of thousands), and 12 epochs
are not enough for whitened inputs.
"""

import json

import pytest
import torch

from summary_ssl.probes.data import loader_options
from tests.probe_helpers import (
    fit_synthetic_probe,
    labelled_dataset,
    layer_sum_encoder,
)

LAYERS, DIM, FRAMES, CLASSES = 4, 32, 6, 4
LABEL_LAYER = 2
OFFSET, SCALE = 300.0, 40.0


def synthetic_split(n, gen, centroids):
    """n utterances: the label is linear in layer LABEL_LAYER only."""
    labels = torch.arange(n) % CLASSES
    z = torch.randn(n, LAYERS, FRAMES, DIM, generator=gen)
    z[:, LABEL_LAYER] += centroids[labels][:, None, :]
    return labelled_dataset(OFFSET + SCALE * z, labels)


@pytest.fixture(scope="module")
def ssl_folder(tmp_path_factory):
    """An exported encoder with the synthetic shape (3 layers + input,
    32-d), so the YAML builds a layer sum of the right size."""
    return layer_sum_encoder(tmp_path_factory.mktemp("encoder"), 3, DIM)


@pytest.mark.parametrize("protocol", ["mp3s", "fast"])
def test_linear_probe_finds_the_label_layer(tmp_path, ssl_folder, protocol):
    """>= 95 % test accuracy, and most of the layer weight on the layer
    that holds the label."""
    gen = torch.Generator().manual_seed(0)
    centroids = 0.6 * torch.randn(CLASSES, DIM, generator=gen)
    datasets = {
        name: synthetic_split(n, gen, centroids)
        for name, n in (("train", 400), ("valid", 40), ("test", 80))
    }
    brain, hparams = fit_synthetic_probe(
        datasets,
        CLASSES,
        (LAYERS, FRAMES, DIM),
        ssl_folder,
        tmp_path,
        protocol=protocol,
        number_of_epochs=20,
    )
    brain.evaluate(
        datasets["test"],
        min_key="error_rate",
        test_loader_kwargs=loader_options(hparams, "test"),
        progressbar=False,
    )
    with open(tmp_path / "metrics.json", encoding="utf-8") as f:
        result = json.load(f)
    weights = result["layer_weights"]
    assert result["metrics"]["accuracy"] >= 95.0, result
    assert max(range(LAYERS), key=weights.__getitem__) == LABEL_LAYER
    assert weights[LABEL_LAYER] > 0.5, weights
