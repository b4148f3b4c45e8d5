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

import os

import pytest
import torch
import torch.nn as nn
from speechbrain.dataio.dataset import DynamicItemDataset

from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd
from summary_ssl.pretrained import export_encoder
from summary_ssl.probes.brain import fit_probe
from summary_ssl.probes.classification import ClassifierProbeBrain
from summary_ssl.probes.data import loader_options
from summary_ssl.probes.protocols import load_hparams

YAML = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "recipes",
    "MP3S",
    "SLURP",
    "IC",
    "hparams",
    "linear.yaml",
)
LAYERS, DIM, FRAMES, CLASSES = 4, 32, 6, 4
LABEL_LAYER = 2
OFFSET, SCALE = 300.0, 40.0


class SyntheticLayers(nn.Module):
    """A frozen 'encoder' whose ``num_layers`` layers of ``frames`` x
    ``out_dim`` features are stored in the waveform."""

    def __init__(self, num_layers=LAYERS, frames=FRAMES, out_dim=DIM):
        super().__init__()
        self.num_layers, self.frames, self.out_dim = num_layers, frames, out_dim

    def forward(self, wavs, wav_lens):
        shape = (wavs.shape[0], self.num_layers, self.frames, self.out_dim)
        hidden = wavs.view(shape)
        return hidden.transpose(0, 1).contiguous(), torch.ones(len(wavs))

    def fingerprint(self):
        return {"features": "synthetic"}


def synthetic_split(n, gen, centroids):
    """n utterances: the label is linear in layer LABEL_LAYER only."""
    labels = torch.arange(n) % CLASSES
    z = torch.randn(n, LAYERS, FRAMES, DIM, generator=gen)
    z[:, LABEL_LAYER] += centroids[labels][:, None, :]
    x = OFFSET + SCALE * z
    data = {
        f"u{i}": {"sig": x[i].flatten(), "label": int(labels[i])}
        for i in range(n)
    }
    dataset = DynamicItemDataset(data)
    dataset.add_dynamic_item(
        lambda label: torch.tensor([label]), "label", "label_encoded"
    )
    dataset.set_output_keys(["id", "sig", "label_encoded"])
    return dataset


@pytest.fixture(scope="module")
def ssl_folder(tmp_path_factory):
    """An exported encoder with the synthetic shape (3 layers + input,
    32-d), so the YAML builds a layer sum of the right size."""
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
        ConformerEncoder(3, DIM, 64, 4, kernel_size=3),
        d_model=DIM,
    )
    return str(export_encoder(model, tmp_path_factory.mktemp("encoder")))


@pytest.mark.parametrize("protocol", ["mp3s", "fast"])
def test_linear_probe_finds_the_label_layer(tmp_path, ssl_folder, protocol):
    """>= 95 % test accuracy, and most of the layer weight on the layer
    that holds the label."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    centroids = 0.6 * torch.randn(CLASSES, DIM, generator=gen)
    datasets = {
        name: synthetic_split(n, gen, centroids)
        for name, n in (("train", 400), ("valid", 40), ("test", 80))
    }
    hparams, _ = load_hparams(
        YAML,
        {
            "protocol": protocol,
            "data_folder": "/unused",
            "ssl_folder": ssl_folder,
            "output_folder": str(tmp_path),
            "number_of_epochs": 20,
            "num_workers": 0,
        },
    )
    hparams["modules"]["extractor"] = SyntheticLayers()
    brain = fit_probe(
        ClassifierProbeBrain,
        hparams,
        {"device": "cpu", "noprogressbar": True},
        datasets,
        CLASSES,
    )
    brain.evaluate(
        datasets["test"],
        min_key="error_rate",
        test_loader_kwargs=loader_options(hparams, "test"),
        progressbar=False,
    )
    with open(tmp_path / "metrics.json", encoding="utf-8") as f:
        import json

        result = json.load(f)
    weights = result["layer_weights"]
    assert result["metrics"]["accuracy"] >= 95.0, result
    assert max(range(LAYERS), key=weights.__getitem__) == LABEL_LAYER
    assert weights[LABEL_LAYER] > 0.5, weights
