"""Tests of the Libri-Light preparation (VAD pieces, no audio copy)."""

import functools
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from summary_ssl.dataio import librilight
from summary_ssl.dataio.librilight import (
    FIELDS,
    cut_by_vad,
    format_spans,
    load_spans,
    parse_spans,
    prepare_librilight,
)
from summary_ssl.dataio.prepare_utils import read_csv
from tests.audio_faults import write_corrupt, write_empty
from tools.toy.corpus import TOY_CORPUS_DIR

REPO = Path(__file__).resolve().parents[2]
REAL = (
    REPO.parent
    / "shared"
    / "real_speech"
    / "librispeech_excerpts"
    / "librispeech_train-clean-100"
)
RATE = 16000
PREPARE_BOOK = librilight._prepare_book
TARGET = 8.0
#: (speaker, book folder, expected book in IDs, file names, seconds).
GOOD = [
    ("100", "book_A", "book_A", ["0001", "0002"], [45, 70]),
    ("100", "the.book-2", "the_book-2", ["ch 1"], [55]),
    ("200", "book_C", "book_C", ["0001", "0002"], [40, 85]),
]


@functools.lru_cache()
def _clips():
    """int16 speech clips: real LibriSpeech excerpts when ../shared is
    there, else the bundled toy corpus, else noise."""
    files = sorted(REAL.glob("*.flac"))[:16] if REAL.is_dir() else []
    if not files:
        files = sorted(Path(TOY_CORPUS_DIR, "LibriSpeech").rglob("*.flac"))
    clips = [sf.read(f, dtype="int16")[0] for f in files[:16]]
    clips = [c for c in clips if c.ndim == 1 and len(c) > RATE // 2]
    if not clips:
        rng = np.random.default_rng(0)
        clips = [
            rng.integers(-3000, 3000, int(RATE * s), dtype=np.int16)
            for s in (1.5, 2.5, 4.0, 6.0, 3.0)
        ]
    return clips


def _write_book_file(stem, seconds, seed):
    """Writes ``stem.flac`` (speech clips and silences, about ``seconds``
    long) and ``stem.json`` whose VAD spans each cover one clip cut to
    1-4.5 s, except the first span: whole clips (with short pauses),
    longer than TARGET. Returns the spans (seconds)."""
    rng = random.Random(seed)
    clips = _clips()
    parts, spans, pos = [], [], 0

    def silence(lo, hi):
        nonlocal pos
        n = int(rng.uniform(lo, hi) * RATE)
        parts.append(np.zeros(n, np.int16))
        pos += n

    silence(0.3, 2.0)
    first = True
    while pos < seconds * RATE:
        start, group = pos, 0
        while group == 0 or (first and group < TARGET * RATE + RATE):
            clip = clips[rng.randrange(len(clips))]
            if not first:  # short spans, so that pieces hold several
                clip = clip[: int(rng.uniform(1.0, 4.5) * RATE)]
            if group:
                silence(0.05, 0.2)  # a pause inside a voiced span
            parts.append(clip)
            pos += len(clip)
            group = pos - start
        first = False
        spans.append([round(start / RATE, 2), round(pos / RATE, 2)])
        silence(0.3, 2.5)
    sf.write(f"{stem}.flac", np.concatenate(parts), RATE, subtype="PCM_16")
    meta = {"book_meta": {"id": "x"}, "snr": 10.0, "voice_activity": spans}
    Path(f"{stem}.json").write_text(json.dumps(meta))
    return spans


def _write_json(path, voice_activity):
    Path(path).write_text(json.dumps({"voice_activity": voice_activity}))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A Libri-Light layout: subset ``small`` (good books) and subset
    ``bad`` (one file per problem)."""
    root = tmp_path_factory.mktemp("librilight")
    seed = 0
    for speaker, book, _, names, seconds in GOOD:
        folder = root / "small" / speaker / book
        folder.mkdir(parents=True)
        for name, length in zip(names, seconds):
            seed += 1
            _write_book_file(str(folder / name), length, seed)
    bad = root / "bad" / "300" / "bad_book"
    bad.mkdir(parents=True)
    good = root / "small" / "100" / "book_A" / "0001"
    shutil.copy(f"{good}.flac", bad / "missing_json.flac")
    write_corrupt(str(bad / "garbage.flac"))
    _write_json(bad / "garbage.json", [[0.0, 1.0]])
    for name, text in [
        ("empty_vad", json.dumps({"voice_activity": []})),
        ("not_json", '{"voice_activity": [[0.0, 1'),
        ("bad_span", json.dumps({"voice_activity": [[2.0, 1.0]]})),
        ("no_vad", json.dumps({"snr": 3.0})),
    ]:
        shutil.copy(f"{good}.flac", bad / f"{name}.flac")
        (bad / f"{name}.json").write_text(text)
    _write_json(bad / "orphan.json", [[0.0, 1.0]])
    other = root / "bad" / "301" / "rate_book"
    other.mkdir(parents=True)
    x = _clips()[0]
    sf.write(other / "slow.flac", x[::2], 8000, subtype="PCM_16")
    _write_json(other / "slow.json", [[0.0, 1.0]])
    write_empty(str(other / "zero.flac"))
    _write_json(other / "zero.json", [[0.0, 1.0]])
    data = Path(f"{good}.flac").read_bytes()
    (other / "truncated.flac").write_bytes(data[: len(data) * 6 // 10])
    shutil.copy(f"{good}.json", other / "truncated.json")
    tone = np.tile(x, 20)[: 10 * RATE]
    sf.write(other / "past_end.flac", tone, RATE, subtype="PCM_16")
    _write_json(other / "past_end.json", [[1, 3], [9, 11], [12, 13]])
    return root


def _reference_rows(root, subset="small", target=TARGET):
    """The expected rows, by an implementation written for the test."""
    rows = []
    for speaker, book, book_id, names, _ in GOOD:
        for name in names:
            stem = root / subset / speaker / book / name
            vad = json.loads(Path(f"{stem}.json").read_text())["voice_activity"]
            frames = sf.info(f"{stem}.flac").frames
            index, acc, count, pieces = 0, 0.0, 0, {}
            for start, end in vad:
                if count > 0 and acc + end - start > target:
                    index, acc, count = index + 1, 0.0, 0
                acc, count = acc + end - start, count + 1
                span = (round(start * RATE), min(round(end * RATE), frames))
                pieces.setdefault(index, []).append(span)
            for k, spans in pieces.items():
                rows.append(
                    {
                        "ID": f"{speaker}_{book_id}_{name.replace(' ', '_')}"
                        f"_{k:04d}",
                        "duration": sum(b - a for a, b in spans) / RATE,
                        "wav": os.path.abspath(f"{stem}.flac"),
                        "spans": " ".join(f"{a}:{b}" for a, b in spans),
                    }
                )
    return sorted(rows, key=lambda row: row["ID"])


def _as_csv(rows):
    return [{**row, "duration": f"{row['duration']:.4f}"} for row in rows]


def _excluded(save_folder, csv_name="train.csv"):
    """(reason, file name) pairs of ``excluded_<stem>.txt``, and its
    summary line."""
    stem = os.path.splitext(csv_name)[0]
    lines = (Path(save_folder) / f"excluded_{stem}.txt").read_text()
    lines = lines.splitlines()
    pairs = [tuple(line.split("\t")[:2]) for line in lines[1:]]
    return sorted((r, os.path.basename(p)) for r, p in pairs), lines[0]


def test_cut_by_vad_matches_a_direct_implementation():
    rng = random.Random(1)
    for _ in range(200):
        spans, t = [], 0.0
        for _ in range(rng.randrange(0, 12)):
            t += rng.uniform(0, 2)
            spans.append((t, t + rng.uniform(0, 12)))
            t = spans[-1][1]
        pieces = cut_by_vad(spans, TARGET)
        assert [s for p in pieces for s in p] == spans  # order, no split
        for i, piece in enumerate(pieces):
            length = sum(e - s for s, e in piece)
            assert len(piece) == 1 or length <= TARGET
            if i + 1 < len(pieces):  # the next span did not fit
                nxt = pieces[i + 1][0]
                assert length + nxt[1] - nxt[0] > TARGET
    assert cut_by_vad([(0, 20)], TARGET) == [[(0, 20)]]
    assert cut_by_vad([(0, 1), (2, 20), (21, 22)], TARGET) == [
        [(0, 1)],
        [(2, 20)],
        [(21, 22)],
    ]


def test_spans_round_trip():
    spans = [(0, 5), (17, 160000), (160001, 320000)]
    assert parse_spans(format_spans(spans)) == spans
    assert parse_spans("") == [] and format_spans([]) == ""


def test_pieces_are_the_reference_pieces(corpus, tmp_path):
    csv = prepare_librilight(
        corpus, tmp_path, target_len_sec=TARGET, progress=False, workers=1
    )
    assert csv == os.path.join(tmp_path, "train.csv")
    rows = read_csv(csv)
    assert list(rows[0]) == FIELDS
    expected = _reference_rows(corpus)
    assert rows == _as_csv(expected)
    # the fixture exercises both branches of the rule
    assert any(len(parse_spans(r["spans"])) > 1 for r in rows)
    assert any(float(r["duration"]) > TARGET for r in rows)
    assert len({r["wav"] for r in rows}) == 5
    assert _excluded(tmp_path)[0] == []
    assert not list(tmp_path.glob("*.jsonl"))  # the journal is removed
    # processes give the same CSV
    csv2 = prepare_librilight(
        corpus, tmp_path / "w2", target_len_sec=TARGET, progress=False
    )
    assert Path(csv2).read_text() == Path(csv).read_text()


def test_length_filters_apply_to_pieces(corpus, tmp_path):
    expected = _reference_rows(corpus)
    lo = sorted(r["duration"] for r in expected)[2]
    csv = prepare_librilight(
        corpus,
        tmp_path,
        csv_name="mid.csv",
        target_len_sec=TARGET,
        min_duration=lo,
        max_duration=TARGET,
        progress=False,
        workers=1,
    )
    kept = [r for r in expected if lo <= r["duration"] <= TARGET]
    assert read_csv(csv) == _as_csv(kept)
    pairs, summary = _excluded(tmp_path, "mid.csv")
    short = sum(r["duration"] < lo for r in expected)
    long = sum(r["duration"] > TARGET for r in expected)
    assert short and long
    assert [r for r, _ in pairs].count("too short") == short
    assert [r for r, _ in pairs].count("too long") == long
    assert f"excluded {short + long} of {len(expected)}" in summary


def test_load_spans_reads_exactly_the_spans(corpus, tmp_path, monkeypatch):
    csv = prepare_librilight(
        corpus, tmp_path, target_len_sec=TARGET, progress=False, workers=1
    )
    asked = []
    read = sf.SoundFile.read

    def counting_read(self, frames=-1, *args, **kwargs):
        asked.append(frames)
        return read(self, frames, *args, **kwargs)

    for row in read_csv(csv)[:8]:
        whole = sf.read(row["wav"], dtype="float32")[0]
        spans = parse_spans(row["spans"])
        expected = np.concatenate([whole[a:b] for a, b in spans])
        with monkeypatch.context() as patch:
            patch.setattr(sf.SoundFile, "read", counting_read)
            asked.clear()
            got = load_spans(row["wav"], row["spans"])
        assert got.dtype == torch.float32
        assert torch.equal(got, torch.from_numpy(expected))
        assert len(got) == round(float(row["duration"]) * RATE)
        assert asked == [b - a for a, b in spans]  # no whole-file read


def test_load_spans_mono_and_errors(tmp_path):
    path = str(tmp_path / "st.flac")
    x = np.stack([np.arange(0, 200, 2), np.arange(0, 100)], 1)
    sf.write(path, x.astype(np.int16), RATE)
    got = load_spans(path, [(10, 12), (40, 41)]) * 32768
    assert got.tolist() == [15.0, 16.5, 60.0]  # mean of both channels
    with pytest.raises(RuntimeError, match="short read"):
        load_spans(path, [(90, 120)])
    with pytest.raises(RuntimeError, match="8000 Hz"):
        load_spans(path, "0:1", sample_rate=8000)
    write_corrupt(str(tmp_path / "bad.flac"))
    with pytest.raises(RuntimeError, match="bad.flac"):
        load_spans(str(tmp_path / "bad.flac"), "0:1")


@pytest.mark.parametrize("decode", [False, True])
def test_bad_files_are_excluded_and_counted(corpus, tmp_path, decode):
    csv = prepare_librilight(
        corpus,
        tmp_path,
        subsets=("small", "bad"),
        target_len_sec=TARGET,
        decode=decode,
        progress=False,
        workers=2,
    )
    rows = read_csv(csv)
    good = [r for r in rows if not r["ID"].startswith("30")]
    assert good == _as_csv(_reference_rows(corpus))
    past_end = [r for r in rows if r["ID"].startswith("301_rate_book_past")]
    assert past_end == [
        {
            "ID": "301_rate_book_past_end_0000",
            "duration": "3.0000",
            "wav": str(corpus / "bad" / "301" / "rate_book" / "past_end.flac"),
            "spans": "16000:48000 144000:160000",
        }
    ]
    expected = [
        ("empty", "empty_vad.json"),
        ("empty", "zero.flac"),
        ("malformed VAD", "bad_span.json"),
        ("malformed VAD", "no_vad.json"),
        ("malformed VAD", "not_json.json"),
        ("missing", "missing_json.json"),
        ("missing", "orphan.flac"),
        ("span past the end", "past_end.flac"),
        ("unreadable", "garbage.flac"),
        ("wrong sample rate", "slow.flac"),
    ]
    truncated = [r for r in rows if "truncated" in r["ID"]]
    if decode:
        expected.append(("unreadable", "truncated.flac"))
        assert not truncated
    else:
        assert truncated  # a valid header: kept without decoding
    pairs, summary = _excluded(tmp_path)
    assert pairs == sorted(expected)
    assert f"excluded {len(expected)} of {len(rows) + len(expected)}" in (
        summary
    )


class Killed(Exception):
    """Stands for a run killed between two books."""


def _counting(monkeypatch, fail_after=None):
    """Patches the per-book function; returns the list of books it saw."""
    seen = []

    def book(key, folder, options):
        if fail_after is not None and len(seen) >= fail_after:
            raise Killed(key)
        seen.append(key)
        return PREPARE_BOOK(key, folder, options)

    monkeypatch.setattr(librilight, "_prepare_book", book)
    return seen


def test_killed_run_resumes_without_redoing_books(
    corpus, tmp_path, monkeypatch
):
    kwargs = dict(
        subsets=("small", "bad"),
        target_len_sec=TARGET,
        progress=False,
        workers=1,
    )
    clean = prepare_librilight(corpus, tmp_path / "clean", **kwargs)
    out = tmp_path / "resumed"
    first = _counting(monkeypatch, fail_after=2)
    with pytest.raises(Killed):
        prepare_librilight(corpus, out, **kwargs)
    journal = out / "train_librilight_books.jsonl"
    lines = journal.read_text().splitlines()
    assert len(lines) == 3 and "options" in json.loads(lines[0])
    assert not (out / "train.csv").exists()
    with open(journal, "a") as fout:  # a third book, cut mid-line
        fout.write(lines[2][: len(lines[2]) // 2])
    second = _counting(monkeypatch)
    assert prepare_librilight(corpus, out, **kwargs) == str(out / "train.csv")
    assert len(first) == 2 and not set(first) & set(second)
    assert len(first) + len(second) == 5  # 3 good books, 2 bad ones
    assert (out / "train.csv").read_text() == Path(clean).read_text()
    assert _excluded(out) == _excluded(tmp_path / "clean")
    assert not journal.exists()


def test_journal_with_other_options_is_restarted(corpus, tmp_path, monkeypatch):
    _counting(monkeypatch, fail_after=2)
    with pytest.raises(Killed):
        prepare_librilight(corpus, tmp_path, progress=False, workers=1)
    seen = _counting(monkeypatch)
    csv = prepare_librilight(
        corpus, tmp_path, target_len_sec=TARGET, progress=False, workers=1
    )
    assert len(seen) == 3
    assert read_csv(csv) == _as_csv(_reference_rows(corpus))


def test_second_call_reads_nothing(corpus, tmp_path, monkeypatch):
    kwargs = dict(target_len_sec=TARGET, progress=False, workers=1)
    csv = prepare_librilight(corpus, tmp_path, **kwargs)
    _counting(monkeypatch, fail_after=0)
    monkeypatch.setattr(sf, "SoundFile", None)
    assert prepare_librilight(corpus, tmp_path, **kwargs) == csv
    with pytest.raises(Killed):  # other options: prepared again
        prepare_librilight(corpus, tmp_path, progress=False, workers=1)


def test_missing_folders_are_named(corpus, tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        prepare_librilight(tmp_path / "no_such_dir", tmp_path, progress=False)
    with pytest.raises(FileNotFoundError, match=r"subset.*medium"):
        prepare_librilight(
            corpus, tmp_path, subsets=["small", "medium"], progress=False
        )
