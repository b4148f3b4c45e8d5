"""What the probe tests share: tiny exported encoders, synthetic layer
features, the SLURP/IC linear probe and the MP3S runner."""

import subprocess
import sys

import torch
import torch.nn as nn
from speechbrain.dataio.dataset import DynamicItemDataset

from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd
from summary_ssl.pretrained import export_encoder
from summary_ssl.probes.brain import fit_probe
from summary_ssl.probes.classification import ClassifierProbeBrain
from summary_ssl.probes.protocols import load_hparams
from tools.toy import REPO

MP3S_RUNNER = REPO / "recipes" / "MP3S" / "run_benchmark.py"
SLURP_IC_LINEAR = REPO / "recipes" / "MP3S" / "SLURP" / "IC" / "hparams"
SLURP_IC_LINEAR = str(SLURP_IC_LINEAR / "linear.yaml")


def export_tiny_encoder(
    folder,
    layers=2,
    dim=32,
    channels=(8, 4),
    kernel_size=3,
    attention_type="SummaryMixing",
    seed=0,
    **options,
):
    """Exports a tiny wav2vec 2.0 encoder (Conformer layers of width
    ``dim``, feed-forward 64, 4 heads) to ``folder``, after seeding with
    ``seed`` (None: no seeding); returns what export_encoder returns."""
    if seed is not None:
        torch.manual_seed(seed)
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=list(channels)),
        ConformerEncoder(
            layers,
            dim,
            64,
            4,
            kernel_size=kernel_size,
            attention_type=attention_type,
        ),
        d_model=dim,
        **options,
    )
    return export_encoder(model, folder)


def tiny_encoder(folder, dim=32):
    """Exports a tiny encoder (2 SummaryMixing Conformer layers of width
    ``dim``, seed 0) to ``folder``; returns the folder (str)."""
    return str(export_tiny_encoder(folder, dim=dim))


def layer_sum_encoder(folder, layers, dim):
    """An exported encoder of ``layers`` Conformer layers (+ the input) of
    width ``dim``, so that the probe YAML builds a layer sum of the size
    of SyntheticLayers'; returns its folder (str)."""
    return str(
        export_tiny_encoder(
            folder, layers, dim, attention_type="RelPosMHAXL", seed=None
        )
    )


class SyntheticLayers(nn.Module):
    """A frozen 'encoder' whose ``num_layers`` layers of ``frames`` x
    ``out_dim`` features are stored in the waveform."""

    def __init__(self, num_layers, frames, out_dim):
        super().__init__()
        self.num_layers, self.frames, self.out_dim = num_layers, frames, out_dim

    def forward(self, wavs, wav_lens):
        shape = (wavs.shape[0], self.num_layers, self.frames, self.out_dim)
        hidden = wavs.view(shape)
        return hidden.transpose(0, 1).contiguous(), torch.ones(len(wavs))

    def fingerprint(self):
        return {"features": "synthetic"}


def labelled_dataset(features, labels):
    """A dataset of utterances ``u<i>`` whose signal is ``features[i]``
    flattened and whose class is ``labels[i]`` (``label_encoded``)."""
    data = {
        f"u{i}": {"sig": features[i].flatten(), "label": int(labels[i])}
        for i in range(len(labels))
    }
    dataset = DynamicItemDataset(data)
    dataset.add_dynamic_item(
        lambda label: torch.tensor([label]), "label", "label_encoded"
    )
    dataset.set_output_keys(["id", "sig", "label_encoded"])
    return dataset


def fit_synthetic_probe(
    datasets, classes, layers, ssl_folder, output_folder, **overrides
):
    """Trains the SLURP/IC linear probe (``overrides`` on its YAML) over
    SyntheticLayers of ``layers`` = (num_layers, frames, out_dim), on one
    thread; returns the Brain and its hparams."""
    torch.set_num_threads(1)
    hparams, _ = load_hparams(
        SLURP_IC_LINEAR,
        {
            "data_folder": "/unused",
            "ssl_folder": ssl_folder,
            "output_folder": str(output_folder),
            "num_workers": 0,
            **overrides,
        },
    )
    hparams["modules"]["extractor"] = SyntheticLayers(*layers)
    brain = fit_probe(
        ClassifierProbeBrain,
        hparams,
        {"device": "cpu", "noprogressbar": True},
        datasets,
        classes,
    )
    return brain, hparams


def run_benchmark_cli(
    ssl_folder, output_folder, *options, jobs, settings, timeout
):
    """Runs the MP3S runner in a subprocess on CPU (``options``, then
    ``--jobs``, one thread, ``--set`` the ``settings``); asserts that it
    succeeds and returns the finished process."""
    cmd = [
        sys.executable,
        str(MP3S_RUNNER),
        "--ssl_folder",
        str(ssl_folder),
        "--output_folder",
        str(output_folder),
        *options,
        "--device",
        "cpu",
        "--jobs",
        str(jobs),
        "--threads",
        "1",
        "--set",
        *settings,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc
