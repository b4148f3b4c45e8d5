"""Tests of the committed toy corpus and of its generator."""

import hashlib
import json
import os
import random
import shutil
from collections import Counter

import pytest
import soundfile as sf

from tools.toy.corpus import (
    TOY_CORPUS_DIR,
    ToyCorpusConfig,
    load_manifest,
    main,
    make_toy_corpus,
    scale_for_hours,
)
from tools.toy.espeak import espeak_version
from tools.toy.text import INTENTS, book_sentence, slurp_command

NO_ESPEAK = shutil.which("espeak-ng") is None
FORMATS = {
    "LibriSpeech": "FLAC",
    "SLURP": "FLAC",
    "IEMOCAP": "WAV",
    "VoxCeleb1": "WAV",
}
# What regeneration must reproduce exactly (sha256 depends on the encoder).
COMPARED = (
    "path",
    "dataset",
    "split",
    "speaker",
    "text",
    "labels",
    "num_samples",
    "voice",
    "style",
)


def _sha256(path):
    with open(path, "rb") as fin:
        return hashlib.sha256(fin.read()).hexdigest()


@pytest.fixture(scope="module")
def manifest():
    return load_manifest()


def test_committed_audio_matches_manifest(manifest):
    for entry in manifest["audio"]:
        path = os.path.join(TOY_CORPUS_DIR, *entry["path"].split("/"))
        info = sf.info(path)
        assert info.samplerate == 16000, path
        assert info.channels == 1, path
        assert info.subtype == "PCM_16", path
        assert info.format == FORMATS[entry["dataset"]], path
        assert info.frames == entry["num_samples"], path
        assert 1.0 <= info.frames / 16000 <= 4.0, path


def test_committed_annotations_match_manifest(manifest):
    for entry in manifest["annotations"]:
        path = os.path.join(TOY_CORPUS_DIR, *entry["path"].split("/"))
        assert _sha256(path) == entry["sha256"], path


def test_no_unlisted_files_and_size(manifest):
    listed = {e["path"] for e in manifest["audio"] + manifest["annotations"]}
    listed |= {"manifest.json", "README.md"}
    found, size = set(), 0
    for root, _, files in os.walk(TOY_CORPUS_DIR):
        for name in files:
            path = os.path.join(root, name)
            found.add(
                os.path.relpath(path, TOY_CORPUS_DIR).replace(os.sep, "/")
            )
            size += os.path.getsize(path)
    assert found == listed
    assert size < 8e6


def test_corpus_contents(manifest):
    audio = manifest["audio"]
    speakers = {(e["dataset"], e["speaker"]) for e in audio}
    assert len(speakers) >= 12
    by_dataset = Counter(e["dataset"] for e in audio)
    assert set(by_dataset) == set(FORMATS)
    intents = Counter(
        e["labels"]["intent"] for e in audio if e["dataset"] == "SLURP"
    )
    assert len(intents) >= 8
    emotions = Counter(
        e["labels"]["emotion"] for e in audio if e["dataset"] == "IEMOCAP"
    )
    assert {"neu", "hap", "sad", "ang", "exc"} <= set(emotions)
    assert set(emotions) - {"neu", "hap", "sad", "ang", "exc"}  # to skip
    sessions = {
        (e["split"], e["speaker"]) for e in audio if e["dataset"] == "IEMOCAP"
    }
    assert len(sessions) == 10  # 5 sessions x (F, M)
    vox_test = {
        e["speaker"]
        for e in audio
        if e["dataset"] == "VoxCeleb1" and e["split"] == "test"
    }
    assert all(10270 <= int(s[2:]) <= 10309 for s in vox_test)
    train_minutes = manifest["summary"]["datasets"]["LibriSpeech"][
        "train-clean-100"
    ]["minutes"]
    assert train_minutes == max(
        s["minutes"]
        for splits in manifest["summary"]["datasets"].values()
        for s in splits.values()
    )


def test_slurp_jsonl_format():
    path = os.path.join(TOY_CORPUS_DIR, "SLURP", "slurp", "train.jsonl")
    with open(path) as fin:
        lines = [json.loads(line) for line in fin]
    keys = [
        "slurp_id",
        "sentence",
        "sentence_annotation",
        "intent",
        "action",
        "tokens",
        "scenario",
        "recordings",
        "entities",
    ]
    for line in lines:
        assert list(line) == keys
        assert line["intent"] == f"{line['scenario']}_{line['action']}"
        assert [t["surface"] for t in line["tokens"]] == line[
            "sentence"
        ].split()
        for rec in line["recordings"]:
            assert rec["file"].startswith("audio-")
            assert set(rec) == {"file", "wer", "ent_wer", "status"}
    assert max(len(line["recordings"]) for line in lines) > 1


def test_text_is_deterministic():
    a = [book_sentence(random.Random(7)) for _ in range(3)]
    b = [book_sentence(random.Random(7)) for _ in range(3)]
    assert a == b
    for intent in INTENTS:
        cmd = slurp_command(random.Random(1), intent)
        for ent in cmd["entities"]:
            words = [cmd["tokens"][i]["surface"] for i in ent["span"]]
            assert (
                f"[{ent['type']} : {' '.join(words)}]"
                in (cmd["sentence_annotation"])
            )


def test_scaling_reaches_an_hour():
    scale = scale_for_hours(1.0)
    big = ToyCorpusConfig().scaled(scale)
    assert big.estimated_seconds() >= 0.9 * 3600
    assert big.voxceleb.test_speakers <= 40
    assert len(big.slurp.intents) == len(INTENTS)


def test_cli_rejects_downscaling(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--scale", "0.5", "--quiet"])


@pytest.mark.skipif(NO_ESPEAK, reason="espeak-ng is not on PATH")
def test_regenerate_matches_committed(tmp_path, manifest):
    if espeak_version() != manifest["espeak_ng_version"]:
        pytest.skip(
            f"espeak-ng {espeak_version()} differs from the "
            f"{manifest['espeak_ng_version']} that made the committed corpus"
        )
    new = make_toy_corpus(
        str(tmp_path), ToyCorpusConfig(seed=manifest["seed"]), progress=False
    )
    assert new["summary"] == manifest["summary"]
    assert new["annotations"] == manifest["annotations"]
    assert len(new["audio"]) == len(manifest["audio"])
    for got, ref in zip(new["audio"], manifest["audio"]):
        assert {k: got[k] for k in COMPARED} == {k: ref[k] for k in COMPARED}
    # The samples themselves are identical (whatever the FLAC encoder).
    for entry in manifest["audio"][::10]:
        rel = entry["path"].split("/")
        x, _ = sf.read(os.path.join(TOY_CORPUS_DIR, *rel), dtype="int16")
        y, _ = sf.read(os.path.join(str(tmp_path), *rel), dtype="int16")
        assert (x == y).all(), entry["path"]
