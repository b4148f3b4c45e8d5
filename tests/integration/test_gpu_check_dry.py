"""benchmarks/gpu_check.sh, the whole GPU visit, dry-run on the CPU at
toy sizes: every stage runs, through the same code, and writes the same
8 files that a GPU run brings back (it asserts nothing about speed).
This is the full dry run (about 2.5 minutes on 2 cores); the learning
stage runs where the shared real recordings are."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import real_speech_dir

REPO = Path(__file__).resolve().parents[2]
FILES = {
    "learning.json",
    "log.txt",
    "step.json",
    "step.md",
    "profile.md",
    "encoder.json",
    "encoder.md",
    "summary.md",
}


def test_gpu_check_dry_run(tmp_path):
    env = dict(
        os.environ,
        GPU_CHECK_DRY="1",
        PYTHON=sys.executable,
        OUT=str(tmp_path),
        OMP_NUM_THREADS="1",
    )
    done = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    expected = FILES if real_speech_dir() else FILES - {"learning.json"}
    assert {p.name for p in tmp_path.iterdir()} == expected

    step = json.loads((tmp_path / "step.json").read_text())["results"]
    assert [(c["model"], c["mode"], c["status"]) for c in step] == [
        ("sb-wav2vec2-base", "eager", "ok"),
        ("summarymixing_w2v2", "eager", "ok"),
        ("summarymixing_w2v2", "compiled", "ok"),
    ]
    compiled = step[2]
    assert compiled["dynamo"]["graph_breaks"] == {}
    assert compiled["compile_options"]["dynamic"] is True
    assert compiled["profile"]["kernels"]  # the profile ran on this cell

    encoder = json.loads((tmp_path / "encoder.json").read_text())["results"]
    modes = {(c["encoder"], c["mode"]) for c in encoder}
    assert len(modes) == 3 + 3 + 2 and len(encoder) == 8 * 2
    assert all(c["status"] == "ok" for c in encoder), [
        c.get("error") for c in encoder
    ]

    profile = (tmp_path / "profile.md").read_text()
    assert "Top 25 by total time" in profile and "| matmul |" in profile
    summary = (tmp_path / "summary.md").read_text()
    assert "DRY RUN ON THE CPU" in summary
    for stage in ("step: rc=0", "encoder: rc=0", "gpu tests: rc="):
        assert stage in summary, summary
    if real_speech_dir():  # the learning stage (tools/learning_stage.py)
        assert "learning: rc=0" in summary, summary
        data = json.loads((tmp_path / "learning.json").read_text())
        assert data["status"] == "done"
        trained = [r for r in data["curve"] if "loss" in r]
        assert data["curve"][0]["step"] == 0 and len(trained) >= 2
        for row in trained:
            assert 0 <= row["accuracy"] <= 1 and row["code_perplexity"] > 0
            assert len(row["codes_in_use"]) == 2
        assert [p["features"] for p in data["probe"]] == [
            "pretrained",
            "random-init",
            "fbank",
        ]
    assert "Projected pretraining cost" in summary
    # the tables come last, the summary at the very end
    assert done.stdout.rstrip().splitlines()[-1].startswith("gpu_check: ")
    assert "## Targets" in done.stdout[-6000:]
