"""run_benchmark.py end to end on the toy corpus: 4 tasks x 3 feature
types with tiny probes, one epoch each."""

import os
import subprocess
import sys

import pytest
import torch

from summary_ssl.lobes.conformer import ConformerEncoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd
from summary_ssl.lobes.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.pretrained import export_encoder

RUNNER = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "recipes",
    "MP3S",
    "run_benchmark.py",
)


@pytest.fixture
def ssl_folder(tmp_path):
    """A tiny exported encoder (2 SummaryMixing Conformer layers)."""
    torch.manual_seed(0)
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
        ConformerEncoder(
            2, 32, 64, 4, kernel_size=3, attention_type="SummaryMixing"
        ),
        d_model=32,
    )
    return str(export_encoder(model, tmp_path / "encoder"))


def test_benchmark_runs_all_tasks_and_baselines(tmp_path, ssl_folder):
    """results.md has the ssl, random_init and fbank rows for the four
    tasks, every cell filled, and the layer-weight heatmap exists."""
    out = tmp_path / "bench"
    cmd = [
        sys.executable,
        RUNNER,
        "--ssl_folder",
        ssl_folder,
        "--output_folder",
        str(out),
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--jobs",
        "2",
        "--threads",
        "1",
        "--set",
        "hidden_size=32",
        "emb_dim=16",
        "batch_size=8",
        "num_workers=0",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (out / "results.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("|")]
    header, rows = table[0], table[2:]
    for task in ("LibriSpeech ASR", "SLURP IC", "IEMOCAP ER", "VoxCeleb1 SV"):
        assert task in header
    assert [row.split("|")[1].strip() for row in rows] == [
        "ssl",
        "random_init",
        "fbank",
    ]
    for row in rows:
        cells = [c.strip() for c in row.split("|")[2:-1]]
        assert len(cells) == 4
        assert all(c and c != "—" and "n/a" not in c for c in cells), row
    assert "run_benchmark.py" in text  # the command
    png = out / "layer_weights.png"
    assert png.is_file() and png.stat().st_size > 1000
    print(text)
