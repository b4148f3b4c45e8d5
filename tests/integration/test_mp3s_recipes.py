"""MP3S probe recipes on the toy corpus: every probe YAML trains briefly
and writes a finite metric (under the default protocol, mp3s); cached
features train like uncached ones; the ASR beam search decodes both test
sets; missing annotations give a clear error.

The recipes run in this process (their ``main``) with tiny probes.
"""

import json
import math
import os
import sys

import pytest
import torch

from tests.conftest import import_file
from tests.probe_helpers import tiny_encoder
from tools.toy.corpus import TOY_CORPUS_DIR

MP3S = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "MP3S")
TINY = ["--num_workers=0", "--batch_size=8"]
SIZES = ["--hidden_size=32", "--emb_dim=16"]

# (recipe, data folder, YAML, extra overrides, metrics to check)
ASR_METRICS = ["WER test-clean", "CER test-other", "WER"]
PROBES = [
    ("LibriSpeech/ASR", "LibriSpeech", "bilstm_ctc", SIZES[:1], ASR_METRICS),
    ("LibriSpeech/ASR", "LibriSpeech", "linear_ctc", [], ASR_METRICS),
    ("SLURP/IC", "SLURP", "linear", ["--label=intent"], ["accuracy"]),
    ("SLURP/IC", "SLURP", "bilstm", SIZES[:1], ["accuracy"]),
    ("IEMOCAP/ER", "IEMOCAP", "linear", [], ["accuracy"]),
    ("IEMOCAP/ER", "IEMOCAP", "ecapa", SIZES, ["accuracy"]),
    ("VoxCeleb1/SV", "VoxCeleb1", "xvector", SIZES, ["EER", "minDCF"]),
    ("VoxCeleb1/SV", "VoxCeleb1", "ecapa", SIZES, ["EER", "minDCF"]),
]


@pytest.fixture(scope="module")
def librispeech(tmp_path_factory):
    """The toy LibriSpeech with a test-other (a copy of test-clean: the
    toy corpus has none), so the recipe's two test sets exist."""
    root = tmp_path_factory.mktemp("LibriSpeech")
    toy = os.path.join(TOY_CORPUS_DIR, "LibriSpeech")
    for split in os.listdir(toy):
        os.symlink(os.path.join(toy, split), root / split)
    os.symlink(os.path.join(toy, "test-clean"), root / "test-other")
    return str(root)


def data_folder(data, librispeech):
    """The data folder of a toy dataset."""
    if data == "LibriSpeech":
        return librispeech
    return os.path.join(TOY_CORPUS_DIR, data)


@pytest.fixture(scope="module")
def ssl_folder(tmp_path_factory):
    """A tiny exported encoder (2 SummaryMixing Conformer layers)."""
    return tiny_encoder(tmp_path_factory.mktemp("encoder"))


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest (and steadiest on a busy machine) on one
    thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_recipe(recipe, yaml_name, args):
    """Imports ``recipes/MP3S/<recipe>/train.py`` and runs its main."""
    folder = os.path.abspath(os.path.join(MP3S, recipe))
    name = "mp3s_" + recipe.replace("/", "_").lower() + "_train"
    sys.path.insert(0, folder)  # for the recipe's *_prepare module
    try:
        module = import_file(name, os.path.join(folder, "train.py"))
        yaml_path = os.path.join(folder, "hparams", f"{yaml_name}.yaml")
        return module.main([yaml_path] + args)
    finally:
        sys.path.remove(folder)


@pytest.mark.parametrize(
    "recipe, data, yaml_name, extra, metric_names",
    PROBES,
    ids=[f"{p[0]}:{p[2]}" for p in PROBES],
)
def test_probe_trains(
    tmp_path,
    ssl_folder,
    librispeech,
    recipe,
    data,
    yaml_name,
    extra,
    metric_names,
):
    """One epoch on the toy corpus gives finite metrics and layer
    weights that sum to one."""
    out = tmp_path / "run"
    run_recipe(
        recipe,
        yaml_name,
        [
            f"--data_folder={data_folder(data, librispeech)}",
            f"--ssl_folder={ssl_folder}",
            f"--output_folder={out}",
            "--number_of_epochs=1",
        ]
        + TINY
        + extra,
    )
    with open(out / "metrics.json", encoding="utf-8") as f:
        result = json.load(f)
    for name in metric_names:
        assert math.isfinite(result["metrics"][name]), result
    weights = result["layer_weights"]
    assert len(weights) == 3 and abs(sum(weights) - 1.0) < 1e-4
    assert result["features"] == "ssl" and result["random_init"] is False
    # The frozen encoder is not in the checkpoints.
    for _, _, files in os.walk(out / "save"):
        assert "extractor.ckpt" not in files


def test_cached_features_train_identically(tmp_path, ssl_folder):
    """An epoch on cached fp16 features gives the losses of an epoch on
    features computed on the fly, and the cache holds every utterance."""
    losses = {}
    for cache in (False, True):
        out = tmp_path / f"cache_{cache}"
        brain = run_recipe(
            "SLURP/IC",
            "linear",
            [
                f"--data_folder={os.path.join(TOY_CORPUS_DIR, 'SLURP')}",
                f"--ssl_folder={ssl_folder}",
                f"--output_folder={out}",
                "--number_of_epochs=1",
                f"--cache_features={cache}",
            ]
            + TINY,
        )
        with open(out / "train_log.txt", encoding="utf-8") as f:
            log = f.read()
        losses[cache] = (brain.train_stats["loss"], log)
    (plain, plain_log), (cached, cached_log) = losses[False], losses[True]
    assert cached == pytest.approx(plain, rel=1e-3)
    valid = [
        line.split("valid loss: ")[1][:4]
        for line in (plain_log.splitlines()[0], cached_log.splitlines()[0])
    ]
    assert valid[0] == valid[1]
    cache_dir = tmp_path / "cache_True" / "feature_cache"
    files = [f for _, _, fs in os.walk(cache_dir) for f in fs]
    csvs = ["train.csv", "devel.csv", "test.csv"]
    n_utts = sum(
        len(open(tmp_path / "cache_True" / "save" / c).readlines()) - 1
        for c in csvs
    )
    assert sum(f.endswith(".npy") for f in files) == n_utts


def test_beam_search_decodes_both_test_sets(tmp_path, ssl_folder, librispeech):
    """MP3S's decoding: the CTC beam search runs on test-clean and
    test-other, each with its hypotheses file and metrics."""
    out = tmp_path / "run"
    brain = run_recipe(
        "LibriSpeech/ASR",
        "linear_ctc",
        [
            f"--data_folder={librispeech}",
            f"--ssl_folder={ssl_folder}",
            f"--output_folder={out}",
            "--number_of_epochs=1",
        ]
        + TINY,
    )
    assert brain.hparams.test_decoder == "beam"
    assert brain.searcher.beam_size == 143
    assert sorted(brain.test_metrics) == ["test-clean", "test-other"]
    for split in ("test-clean", "test-other"):
        hyps = (out / f"test_hyps_{split}.txt").read_text().splitlines()
        assert len(hyps) == 2 * 8  # REF and HYP of the 8 toy utterances
    with open(out / "metrics.json", encoding="utf-8") as f:
        metrics = json.load(f)["metrics"]
    assert metrics["WER test-clean"] == metrics["WER test-other"]  # a copy


def test_missing_annotations_are_named(tmp_path, ssl_folder):
    """A SLURP folder without its devel annotations fails naming the
    file."""
    data = tmp_path / "SLURP"
    (data / "slurp").mkdir(parents=True)
    (data / "slurp_real").mkdir()
    (data / "slurp" / "train.jsonl").write_text("")
    with pytest.raises(FileNotFoundError, match="devel.jsonl"):
        run_recipe(
            "SLURP/IC",
            "linear",
            [
                f"--data_folder={data}",
                f"--ssl_folder={ssl_folder}",
                f"--output_folder={tmp_path / 'run'}",
            ],
        )
