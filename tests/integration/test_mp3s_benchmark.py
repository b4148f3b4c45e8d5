"""run_benchmark.py end to end: the four MP3S tasks on the toy corpus, and
the two real-speech tasks (keywords, speaker verification) on a tiny
folder laid out like ``real_speech/``; 3 feature types each, tiny probes,
one epoch, ``--protocol fast``."""

import json
import os
import shutil

import pytest

from summary_ssl.dataio.prepare_utils import read_csv
from summary_ssl.dataio.slurp import prepare_slurp
from tests.conftest import import_file
from tests.probe_helpers import MP3S_RUNNER, run_benchmark_cli, tiny_encoder
from tools.toy.corpus import TOY_CORPUS_DIR

TINY = ["hidden_size=32", "emb_dim=16", "batch_size=8", "num_workers=0"]


@pytest.fixture
def ssl_folder(tmp_path):
    """A tiny exported encoder (2 SummaryMixing Conformer layers)."""
    return tiny_encoder(tmp_path / "encoder")


def table_rows(text):
    """(header, {row name: cells}) of the results table."""
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header = table[0]
    rows = {}
    for line in table[1:]:
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if cells[0] in ("ssl", "random_init", "fbank"):
            rows[cells[0]] = cells[1:]
    return header, rows


def test_benchmark_runs_all_tasks_and_baselines(tmp_path, ssl_folder):
    """results.md has the ssl, random_init and fbank rows for the four
    tasks, every cell filled (but the toy corpus's missing test-other,
    which a note names), the protocol and its deviations, the published
    block, and the layer-weight heatmap."""
    out = tmp_path / "bench"
    run_benchmark_cli(
        ssl_folder,
        out,
        "--protocol",
        "fast",
        "--epochs",
        "1",
        jobs=2,
        settings=TINY,
        timeout=900,
    )
    text = (out / "results.md").read_text()
    header, rows = table_rows(text)
    for task in ("LibriSpeech ASR", "SLURP IC", "IEMOCAP ER", "VoxCeleb1 SV"):
        assert task in header
    assert list(rows) == ["ssl", "random_init", "fbank"]
    for cells in rows.values():
        assert len(cells) == 4
        assert cells[0].endswith("/ n/a")  # no test-other in the toy
        assert all(c and c != "—" for c in cells)
        assert all("n/a" not in c for c in cells[1:])
    assert "test-other not found" in text
    assert "Protocol: `fast`" in text
    assert "greedy CTC decoding" in text  # a deviation of fast
    assert "`--set hidden_size=32`" in text
    assert "none of these rows is comparable" in text
    assert "arXiv 2407.13377, as tabulated in SamsungLabs/SummaryMixing " \
        "pull request #9 (README)." in text  # fmt: skip
    assert "run_benchmark.py" in text  # the command
    png = out / "layer_weights.png"
    assert png.is_file() and png.stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())
    check_references(text, results, ("IC", "ER"), n_layers=3)
    check_verdict(text, results, ("ASR", "IC", "ER", "SV"), ("IC", "ER"))


def check_references(text, results, tasks, n_layers):
    """The single-layer reference of every classification run: a row of
    results.md per task and feature set (probe, best layer, every layer)
    and the same numbers in results.json."""
    assert "### Single-layer reference" in text
    rows = {
        tuple(c.strip() for c in line.split("|")[1:3]): line
        for line in text.splitlines()
        if line.startswith(tuple(f"| {t} |" for t in tasks))
    }
    for task in tasks:
        for feature in ("ssl", "random_init", "fbank"):
            ref = results["results"][feature][task]["reference"]
            layers = n_layers if feature != "fbank" else 1
            assert len(ref["test"]) == layers, (feature, task, ref)
            assert all(0.0 <= a <= 100.0 for a in ref["test"])
            assert ref["best"] == max(ref["test"])
            row = rows[task, feature]
            assert f"{ref['best']:.2f} (layer {ref['best_layer']})" in row
            assert ", ".join(f"{a:.1f}" for a in ref["test"]) in row
            probe = results["results"][feature][task]["metrics"]["accuracy"]
            assert f"{probe - ref['best']:+.2f}" in row


def check_verdict(text, results, tasks, classification):
    """results.md ends with one verdict line per task (by the reference
    too for classification); results.json holds the same verdicts."""
    verdict = text.rstrip().split("## Verdict", 1)[1].strip().splitlines()
    lines = [line for line in verdict if line.startswith("- ")]
    assert [line.split(":")[0] for line in lines] == [f"- {t}" for t in tasks]
    assert text.rstrip().endswith(lines[-1])
    by_task = {item["task"]: item for item in results["verdict"]}
    for task, line in zip(tasks, lines):
        assert "by the probe, ssl" in line
        assert ("by the reference, ssl" in line) == (task in classification)
        item = by_task[task]
        assert ("DISAGREE" in line) == (item["agree"] is False)
        assert item["probe"]["ssl"] == pytest.approx(
            results["results"]["ssl"][task]["metrics"][
                "EER" if task == "SV" else
                "WER test-clean" if task == "ASR" else "accuracy"
            ]
        )  # fmt: skip


@pytest.fixture
def real_speech_layout(tmp_path):
    """A tiny folder laid out like real_speech/: keywords are the toy
    SLURP recordings by scenario, test speakers the toy VoxCeleb1 test
    speakers, training speakers its other speakers (LibriSpeech-named)."""
    root = tmp_path / "real_speech"
    csv = prepare_slurp(
        os.path.join(TOY_CORPUS_DIR, "SLURP"),
        str(tmp_path / "slurp_csv"),
        splits=["train"],
        progress=False,
    )["train"]
    for n, row in enumerate(read_csv(csv)):
        folder = root / "wake_words" / row["scenario"]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(row["wav"], folder / f"{n}.flac")
    wav = os.path.join(TOY_CORPUS_DIR, "VoxCeleb1", "wav")
    test_speakers = {
        line.split()[1].split("/")[0]
        for line in open(os.path.join(TOY_CORPUS_DIR, "VoxCeleb1",
                                      "veri_test2.txt"))
    }  # fmt: skip
    excerpts = root / "librispeech_excerpts"
    for speaker in sorted(os.listdir(wav)):
        n = 0
        for video in sorted(os.listdir(os.path.join(wav, speaker))):
            for name in sorted(os.listdir(os.path.join(wav, speaker, video))):
                source = os.path.join(wav, speaker, video, name)
                if speaker in test_speakers:
                    target = excerpts / "librispeech_test-other" / speaker
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(source, target / f"{speaker}-{n}.wav")
                else:
                    target = excerpts / "librispeech_train-clean-100"
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(source, target / f"{speaker}-0-{n}.wav")
                n += 1
    return str(root)


def load_runner():
    """recipes/MP3S/run_benchmark.py as a module."""
    return import_file("run_benchmark", MP3S_RUNNER)


def test_real_speech_tasks_from_python(
    tmp_path, ssl_folder, real_speech_layout
):
    """run_benchmark(real_speech=...) runs KWS and SV with the baselines
    and the feature cache, and writes the same table."""
    runner = load_runner()
    report = runner.run_benchmark(
        ssl_folder,
        str(tmp_path / "bench"),
        real_speech=real_speech_layout,
        protocol="fast",
        epochs=1,
        cache_features=True,
        jobs=2,
        threads=1,
        overrides=TINY + ["SV:crop_seconds=1.0"],
    )
    assert report["failed"] == []
    header, rows = table_rows(report["text"])
    assert "Keywords (real" in header and "LibriSpeech speakers SV" in header
    assert list(rows) == ["ssl", "random_init", "fbank"]
    for cells in rows.values():
        assert len(cells) == 2 and all("n/a" not in c for c in cells)
    assert "No published MP3S number exists" in report["text"]
    kws = report["results"]["ssl"]["KWS"]["folds"][0]
    assert kws["label"] == "subfolder"
    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    check_references(report["text"], results, ("KWS",), n_layers=3)
    check_verdict(report["text"], results, ("KWS", "SV"), ("KWS",))
    sv = report["results"]["fbank"]["SV"]["folds"][0]
    n_test = sum(
        len(files)
        for _, _, files in os.walk(
            os.path.join(
                real_speech_layout,
                "librispeech_excerpts",
                "librispeech_test-other",
            )
        )
    )
    assert sv["trials"] == n_test * (n_test - 1) // 2
    cache = tmp_path / "bench" / "feature_cache"
    assert any(f.endswith(".npy") for _, _, fs in os.walk(cache) for f in fs)
