"""The stitched-keyword real-speech task: layout, transcripts, the split
by file, and the unreadable recordings."""

import os

import numpy as np
import soundfile as sf

from summary_ssl.dataio.librispeech import prepare_librispeech
from summary_ssl.finetune.stitched_keywords import (
    keyword_words,
    prepare_stitched_keywords,
    stitch_groups,
)


def fake_keywords(root, files=10):
    """Two keyword folders of short tones, and one corrupt file."""
    rng = np.random.default_rng(0)
    for k, keyword in enumerate(["smart_mirror", "jarvis"]):
        folder = root / keyword
        folder.mkdir(parents=True)
        for i in range(files):
            t = np.arange(8000) / 16000
            tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * k + i) * t)
            audio = np.concatenate([np.zeros(2000), tone, np.zeros(2000)])
            audio += 0.001 * rng.standard_normal(len(audio))
            sf.write(folder / f"{i}.flac", audio, 16000)
    (root / "jarvis" / "bad.flac").write_bytes(b"fLaC" + b"\x00" * 100)
    return root


def read_sources(folder):
    rows = (folder / "sources.tsv").read_text().split("\n")
    return [row.split("\t") for row in rows if row]


def test_words_of_a_keyword_folder():
    assert keyword_words("view_glass") == "VIEW GLASS"
    assert keyword_words("alexa") == "ALEXA"


def test_groups_have_two_to_four_distinct_recordings():
    groups = stitch_groups(list(range(30)), 2, 2, 4, seed=3)
    assert sorted(x for g in groups for x in g) == sorted(list(range(30)) * 2)
    assert all(len(set(g)) == len(g) for g in groups)
    assert all(2 <= len(g) <= 4 for g in groups[:-1])


def test_stitched_task_in_librispeech_layout(tmp_path):
    data = fake_keywords(tmp_path / "wake_words")
    out = tmp_path / "kw"
    summary = prepare_stitched_keywords(
        data, out, test_fraction=0.2, dev_fraction=0.2, train_uses=2
    )
    assert summary["excluded"] == {"unreadable": 1}
    assert summary["recordings"] == {"train": 12, "dev": 4, "test": 4}
    assert "bad.flac" in (out / "excluded_recordings.txt").read_text()
    # Split by file: no recording is in two splits.
    used = {
        split: {p for row in read_sources(out / split) for p in row[1:]}
        for split in ("train", "dev", "test")
    }
    assert not used["test"] & used["train"]
    assert not used["dev"] & used["train"]
    assert not used["test"] & used["dev"]
    # The recipe's LibriSpeech preparation reads it as it is.
    csvs = prepare_librispeech(
        str(out), str(tmp_path / "csv"), ["train", "test"], progress=False
    )
    lines = open(csvs["test"]).read().splitlines()[1:]
    assert len(lines) == summary["utterances"]["test"]
    for row in read_sources(out / "train"):
        utt, paths = row[0], row[1:]
        words = [
            keyword_words(os.path.basename(os.path.dirname(p))) for p in paths
        ]
        chapter = utt.split("-")[1]
        trans = out / "train" / "1" / chapter / f"1-{chapter}.trans.txt"
        assert f"{utt} {' '.join(words)}" in trans.read_text()
        assert 2 <= len(paths) <= 4
    # Prepared once: a second call with the same options does nothing.
    again = prepare_stitched_keywords(
        data, out, test_fraction=0.2, dev_fraction=0.2, train_uses=2
    )
    assert again == summary


def test_real_keywords_unreadable_files_are_counted(tmp_path, real_speech):
    real = real_speech  # skips when ../shared/real_speech is absent
    # The first 40 alexa files by name include 126-129, unreadable.
    summary = prepare_stitched_keywords(
        os.path.join(real, "wake_words"),
        tmp_path / "kw",
        keywords=["alexa", "smart_mirror"],
        max_files_per_keyword=40,
    )
    assert summary["excluded"] == {"unreadable": 4}
    assert sum(summary["recordings"].values()) == 76
    text = "".join(
        p.read_text() for p in (tmp_path / "kw" / "test").rglob("*.trans.txt")
    )
    assert "SMART MIRROR" in text and "ALEXA" in text
