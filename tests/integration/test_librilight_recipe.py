"""The Libri-Light recipe: an overlay of the LibriSpeech one, reading
Libri-Light books cut by VAD without a copy of the audio."""

import json
import pathlib

import numpy as np
import soundfile as sf

from summary_ssl.dataio.audio_checks import load_audio
from summary_ssl.dataio.librilight import cut_by_vad
from summary_ssl.dataio.prepare_utils import read_csv
from tests.integration.pretrain_helpers import run_pretraining
from tools.toy import PRETRAIN_RECIPE, TOY_CORPUS

REPO = pathlib.Path(__file__).resolve().parents[2]
LIBRILIGHT_RECIPE = (
    REPO / "recipes" / "Libri-Light" / "self-supervised-learning" / "wav2vec2"
)
TARGET = 6.0


def make_toy_librilight(root):
    """Two books of toy LibriSpeech utterances with 0.7-s silences between
    them, in the Libri-Light layout; returns their VAD spans by file."""
    clips = sorted(
        (TOY_CORPUS / "LibriSpeech" / "train-clean-100").rglob("*.flac")
    )
    spans = {}
    for book, chunk in enumerate((clips[:6], clips[6:12])):
        folder = root / "small" / f"{100 + book}" / f"book_{book}"
        folder.mkdir(parents=True)
        audio, vad, t = [], [], 0.0
        for clip in chunk:
            x = load_audio(str(clip)).numpy()
            gap = np.zeros(int(0.7 * 16000), dtype=np.float32)
            vad.append([round(t, 2), round(t + len(x) / 16000, 2)])
            audio += [x, gap]
            t += (len(x) + len(gap)) / 16000
        sf.write(folder / "ch_01.flac", np.concatenate(audio), 16000)
        (folder / "ch_01.json").write_text(
            json.dumps({"book_meta": {"id": str(book)}, "voice_activity": vad})
        )
        spans[folder / "ch_01.flac"] = vad
    return spans


def test_librilight_recipe_prepares_pieces_and_trains(tmp_path):
    spans = make_toy_librilight(tmp_path / "LibriLight")
    out = tmp_path / "out"
    brain = run_pretraining(
        out,
        recipe=LIBRILIGHT_RECIPE,
        data_folder=str(tmp_path / "LibriLight"),
        librilight_subsets=["small"],
        valid_data_folder=str(TOY_CORPUS / "LibriSpeech"),
        target_len_sec=TARGET,
        optimizer_step_limit=3,
    )
    rows = read_csv(out / "train.csv")
    expected = sum(len(cut_by_vad(v, TARGET)) for v in spans.values())
    assert len(rows) == expected and all(row["spans"] for row in rows)
    assert {row["wav"] for row in rows} == {str(p) for p in spans}
    # Validation is LibriSpeech dev-clean, as in the paper.
    assert all("dev-clean" in r["wav"] for r in read_csv(out / "valid.csv"))
    assert brain.optimizer_step == 3
    assert (out / "exported_encoder" / "wav2vec2.ckpt").is_file()
    # No audio was written: the output holds CSVs, logs and checkpoints.
    written = [p.suffix for p in out.rglob("*") if p.is_file()]
    assert ".flac" not in written and ".wav" not in written


def test_overlays_name_an_existing_base_of_the_same_name():
    """Each Libri-Light YAML adjusts the LibriSpeech YAML of its name, so
    the model settings live in one file."""
    for overlay in (REPO / "recipes" / "Libri-Light").rglob("hparams/*.yaml"):
        text = overlay.read_text()
        line = next(
            x for x in text.splitlines() if x.startswith("base_hparams")
        )
        base = (overlay.parent / line.split(":", 1)[1].strip()).resolve()
        assert base.is_file() and base.name == overlay.name
        assert base.is_relative_to(PRETRAIN_RECIPE.parent)
