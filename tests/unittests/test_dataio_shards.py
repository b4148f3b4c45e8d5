"""WebDataset shards: writing, streaming across ranks and workers, resuming."""

import json
import os

import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from summary_ssl.dataio import shards as shards_module
from summary_ssl.dataio.audio_checks import load_audio
from summary_ssl.dataio.librispeech import prepare_librispeech
from summary_ssl.dataio.prepare_utils import read_csv, write_csv
from summary_ssl.dataio.shard_stream import (
    ShardLoader,
    ShardStream,
    load_shard_index,
)
from summary_ssl.dataio.shards import plan_shards, write_shards
from tools.toy.corpus import TOY_CORPUS_DIR

SHARD_HOURS = 0.004  # 14.4 s: the toy corpus becomes ~15 shards


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("csv")
    prepare_librispeech(
        os.path.join(TOY_CORPUS_DIR, "LibriSpeech"),
        str(out),
        ["train-clean-100"],
        progress=False,
    )
    return str(out / "train-clean-100.csv")


@pytest.fixture(scope="module")
def shard_folder(toy_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    write_shards(toy_csv, str(out), shard_hours=SHARD_HOURS, progress=False)
    return str(out)


def _ids(csv):
    return sorted(row["ID"] for row in read_csv(csv))


def test_every_row_is_in_one_shard_with_its_audio(toy_csv, shard_folder):
    index = load_shard_index(shard_folder)
    rows = {row["ID"]: row for row in read_csv(toy_csv)}
    assert index["total_samples"] == len(rows) and index["excluded"] == 0
    assert len(index["shards"]) > 8
    seen = []
    stream = ShardStream(shard_folder, max_batch_length=1e9)
    import webdataset as wds

    for shard in index["shards"]:
        urls = [{"url": os.path.join(shard_folder, shard["name"])}]
        samples = list(wds.tariterators.tarfile_samples(urls))
        assert len(samples) == shard["samples"]
        for sample in samples:
            meta = json.loads(sample["json"])
            seen.append(meta["id"])
            audio, rate = sf.read(
                __import__("io").BytesIO(sample["flac"]), dtype="float32"
            )
            expected = load_audio(rows[meta["id"]]["wav"])
            assert rate == 16000
            # The toy corpus is 16-bit FLAC: the round trip is exact.
            torch.testing.assert_close(torch.from_numpy(audio), expected)
    assert sorted(seen) == sorted(rows)
    assert stream.index == index


def test_plan_keeps_shards_under_the_hours_and_shuffles():
    rows = [{"ID": str(i), "duration": "10"} for i in range(100)]
    plan = plan_shards(rows, 60 / 3600, seed=1)
    assert all(sum(float(r["duration"]) for r in s) <= 60 for s in plan)
    flat = [r["ID"] for s in plan for r in s]
    assert sorted(flat) == sorted(r["ID"] for r in rows)
    assert flat != [r["ID"] for r in rows]  # mixed across shards


def test_an_unreadable_row_is_excluded_and_counted(toy_csv, tmp_path):
    rows = [dict(r, duration=float(r["duration"])) for r in read_csv(toy_csv)]
    rows = rows[:6]
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"not audio at all" * 100)
    rows[2] = dict(rows[2], ID="bad-utt", wav=str(bad))
    csv = tmp_path / "rows.csv"
    write_csv(str(csv), rows, list(rows[0]))
    index = json.load(
        open(write_shards(str(csv), tmp_path / "s", progress=False, workers=1))
    )
    assert index["total_samples"] == 5 and index["excluded"] == 1
    report = (tmp_path / "s" / "excluded_shards.txt").read_text()
    assert "excluded 1 of 6" in report and str(bad) in report


def test_a_killed_writer_resumes_without_rewriting(
    toy_csv, tmp_path, monkeypatch
):
    out = tmp_path / "s"
    real = shards_module.write_shard
    calls = []

    def dying(path, rows, sample_rate=16000):
        if len(calls) == 3:
            raise KeyboardInterrupt  # the kill
        calls.append(os.path.basename(path))
        return real(path, rows, sample_rate)

    monkeypatch.setattr(shards_module, "write_shard", dying)
    with pytest.raises(KeyboardInterrupt):
        write_shards(
            toy_csv, out, shard_hours=SHARD_HOURS, workers=1, progress=False
        )
    assert not (out / "shards.json").exists()
    first = list(calls)
    calls.clear()
    monkeypatch.setattr(
        shards_module,
        "write_shard",
        lambda path, rows, sample_rate=16000: (
            calls.append(os.path.basename(path))
            or real(path, rows, sample_rate)
        ),
    )
    index = json.load(
        open(
            write_shards(
                toy_csv, out, shard_hours=SHARD_HOURS, workers=1, progress=False
            )
        )
    )
    assert not set(first) & set(calls)  # finished shards are not redone
    assert index["total_samples"] == len(read_csv(toy_csv))
    assert not (out / "shards_journal.jsonl").exists()


def _epoch_ids(shard_folder, epoch, world=2, workers=2, **kwargs):
    """Ids per rank in one epoch, each rank with its own DataLoader."""
    per_rank = []
    for rank in range(world):
        stream = ShardStream(
            shard_folder,
            max_batch_length=12.0,
            rank=rank,
            world_size=world,
            **kwargs,
        )
        stream.set_epoch(epoch)
        loader = DataLoader(stream, batch_size=None, num_workers=workers)
        per_rank.append([i for batch, _ in loader for i in batch.id])
    return per_rank


def test_two_ranks_two_workers_see_every_segment_once(toy_csv, shard_folder):
    expected = _ids(toy_csv)
    epoch1 = _epoch_ids(shard_folder, 1)
    epoch2 = _epoch_ids(shard_folder, 2)
    for ranks in (epoch1, epoch2):
        flat = [i for ids in ranks for i in ids]
        assert sorted(flat) == expected  # none lost, none repeated
        assert all(ranks)  # both ranks got data
    assert epoch1 != epoch2  # reshuffled each epoch
    assert _epoch_ids(shard_folder, 1) == epoch1  # from the seed


def test_batches_keep_max_batch_length(shard_folder):
    stream = ShardStream(shard_folder, max_batch_length=12.0)
    stream.set_epoch(1)
    for batch, _ in stream:
        wavs, lens = batch.sig
        assert wavs.shape[0] * wavs.shape[1] / 16000 <= 12.0 + 1e-6
        assert len(batch.id) >= 1


def test_a_killed_epoch_resumes_losing_and_repeating_nothing(
    toy_csv, shard_folder, tmp_path
):
    def loader():
        stream = ShardStream(shard_folder, max_batch_length=12.0)
        return ShardLoader(stream, num_workers=2)

    first = loader()
    first.set_epoch(3)
    before = []
    for n, batch in enumerate(first):
        before.extend(batch.id)
        if n == 4:
            break  # killed here; the checkpoint was just written
    first._save(tmp_path / "ckpt.json")
    assert first.dataset.partial  # some shards were in flight

    resumed = loader()
    resumed._recover(tmp_path / "ckpt.json", end_of_epoch=False)
    resumed.set_epoch(3)  # as fit does after recovery: the same epoch
    after = [i for batch in resumed for i in batch.id]

    assert before and after
    assert not set(before) & set(after)  # nothing read twice
    assert sorted(before + after) == _ids(toy_csv)  # nothing lost
    # Next epoch: everything again.
    resumed.set_epoch(4)
    assert sorted(i for b in resumed for i in b.id) == _ids(toy_csv)


def test_missing_or_empty_shard_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        ShardStream(str(tmp_path / "nope"), max_batch_length=10)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="shards.json"):
        ShardStream(str(tmp_path / "empty"), max_batch_length=10)
