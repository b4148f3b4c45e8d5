"""WebDataset tar shards from any prepared CSV, for streamed pretraining.

    python -m summary_ssl.dataio.shards --csv results/.../train.csv \\
        --out /data/shards --shard-hours 1

At Libri-Light scale (60k hours, some 11 million segments) a manifest
held in memory by every process, and sorted by every sampler at start-up,
costs gigabytes per rank and minutes (``benchmarks/manifest_scale.py``).
Shards turn the manifest into a list of a few thousand files: each
process reads only the small index ``shards.json`` and streams its share
of the tar files (:mod:`summary_ssl.dataio.shard_stream`).

Each sample of a shard holds the segment's audio as 16-bit FLAC
(``<key>.flac``, at the recipe's sample rate: resampled when the source
is not) and ``<key>.json`` = ``{"id": ..., "duration": seconds}``. Rows of
a Libri-Light CSV (with a ``spans`` column) are cut from their book's
file here, so the shards are the only copy the loader reads. Rows are
shuffled with ``seed`` before they are cut into shards, so that a shard
mixes speakers and books (a shuffle buffer alone, at streaming time,
would mix only the few shards in flight).

A row whose audio cannot be read is excluded, counted and logged
(``excluded_shards.txt``), as at preparation. Writing is parallel over
shards, each written to a temporary name and renamed when complete; a
killed run resumes from its journal without rewriting finished shards,
and ``shards.json`` is written last.

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import io
import json
import logging
import os
import random
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import soundfile as sf
import webdataset as wds
from tqdm import tqdm

from summary_ssl.dataio.audio_checks import ExclusionReport, load_audio
from summary_ssl.dataio.prepare_utils import read_csv

logger = logging.getLogger(__name__)

INDEX_NAME = "shards.json"
JOURNAL_NAME = "shards_journal.jsonl"
REPORT_NAME = "excluded_shards.txt"
FORMAT_VERSION = 1


def load_row_audio(wav, spans=None, sample_rate=16000):
    """The audio of one prepared CSV row (whole file, or Libri-Light spans).

    Arguments
    ---------
    wav : str
        The audio file.
    spans : str, optional
        A Libri-Light row's ``spans`` column (``"start:stop ..."`` in
        samples of ``wav``); None or empty reads the whole file.
    sample_rate : int
        The rate to return.

    Returns
    -------
    torch.Tensor
        (samples,) float32.

    Example
    -------
    >>> import numpy as np, os
    >>> path = os.path.join(getfixture("tmp_path"), "a.flac")
    >>> sf.write(path, np.arange(1000, dtype="int16"), 16000)
    >>> load_row_audio(path, "10:20 30:35").shape
    torch.Size([15])
    """
    if spans:
        from summary_ssl.dataio.librilight import load_spans, parse_spans

        return load_spans(wav, parse_spans(spans), sample_rate=sample_rate)
    return load_audio(wav, sample_rate=sample_rate)


def sample_key(utt_id):
    """A tar member stem for ``utt_id``: WebDataset splits a member name
    at its first dot, so dots become underscores (the true ID is kept in
    the sample's JSON).

    Example
    -------
    >>> sample_key("103-1240-0000"), sample_key("a.b/c")
    ('103-1240-0000', 'a_b_c')
    """
    return utt_id.replace(".", "_").replace("/", "_")


def plan_shards(rows, shard_hours, seed=1986, shuffle=True):
    """Cuts rows into shards of at most ``shard_hours`` of audio each.

    Arguments
    ---------
    rows : list of dict
        Prepared CSV rows (``ID``, ``duration``, ...).
    shard_hours : float
        Audio per shard; a row longer than that is a shard of its own.
    seed : int
        Seed of the row shuffle.
    shuffle : bool
        Shuffle the rows first (False keeps the CSV order).

    Returns
    -------
    list of list of dict

    Example
    -------
    >>> rows = [{"ID": str(i), "duration": "1800"} for i in range(5)]
    >>> [len(s) for s in plan_shards(rows, 1.0, shuffle=False)]
    [2, 2, 1]
    """
    rows = list(rows)
    if shuffle:
        random.Random(seed).shuffle(rows)
    limit = shard_hours * 3600.0
    shards, current, length = [], [], 0.0
    for row in rows:
        duration = float(row["duration"])
        if current and length + duration > limit:
            shards.append(current)
            current, length = [], 0.0
        current.append(row)
        length += duration
    if current:
        shards.append(current)
    return shards


def write_shard(path, rows, sample_rate=16000):
    """Writes one tar shard; returns its record for the index.

    A row whose audio cannot be read is left out and returned in the
    record's ``excluded`` list as ``[path, reason]``.

    Returns
    -------
    dict
        ``name``, ``samples``, ``seconds``, ``excluded``.
    """
    tmp = f"{path}.tmp"
    samples, seconds, excluded = 0, 0.0, []
    with wds.TarWriter(tmp) as sink:
        for row in rows:
            try:
                audio = load_row_audio(
                    row["wav"], row.get("spans"), sample_rate=sample_rate
                )
                if audio.numel() == 0:
                    raise ValueError("no audio samples")
            except Exception as error:  # any reader failure: count, go on
                where = row["wav"]
                if row.get("spans"):
                    where += f" [{row['ID']}]"
                excluded.append([where, f"unreadable: {error}"])
                continue
            flac = io.BytesIO()
            sf.write(
                flac,
                audio.numpy(),
                sample_rate,
                format="FLAC",
                subtype="PCM_16",
            )
            duration = audio.numel() / sample_rate
            sink.write(
                {
                    "__key__": sample_key(row["ID"]),
                    "flac": flac.getvalue(),
                    "json": {"id": row["ID"], "duration": duration},
                }
            )
            samples += 1
            seconds += duration
    os.replace(tmp, path)
    return {
        "name": os.path.basename(path),
        "samples": samples,
        "seconds": round(seconds, 4),
        "excluded": excluded,
    }


def _write_shard_job(args):
    return write_shard(*args)


def _read_journal(path, options):
    """Records of the shards a killed run finished with the same options."""
    done = {}
    if not os.path.isfile(path):
        return done
    with open(path, encoding="utf-8") as fin:
        lines = fin.read().split("\n")
    try:
        if json.loads(lines[0]) != {"options": options}:
            return done
    except json.JSONDecodeError:
        return done
    for line in lines[1:]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut by the kill
            continue
        done[record["name"]] = record
    return done


def write_shards(
    csv_path,
    out_folder,
    shard_hours=1.0,
    sample_rate=16000,
    seed=1986,
    shuffle=True,
    workers=2,
    progress=True,
):
    """Writes WebDataset shards and their index from a prepared CSV.

    Arguments
    ---------
    csv_path : str
        A CSV written by any of the package's preparations (``ID``,
        ``duration``, ``wav``, and ``spans`` for Libri-Light).
    out_folder : str
        Where ``shard-000000.tar``... and ``shards.json`` go.
    shard_hours : float
        Audio per shard (WebDataset advises shards of 100 MB to a few GB:
        an hour of 16 kHz speech is about 60-110 MB of FLAC).
    sample_rate : int
        The rate of the stored audio.
    seed : int
        Seed of the row shuffle.
    shuffle : bool
        Shuffle rows across shards.
    workers : int
        Shards written at once (processes).
    progress : bool
        Show a progress bar.

    Returns
    -------
    str
        The index path (``<out_folder>/shards.json``).

    Example
    -------
    >>> import numpy as np, soundfile as sf
    >>> from summary_ssl.dataio.audio_folder import prepare_audio_folder
    >>> tmp = getfixture("tmp_path")
    >>> (tmp / "audio").mkdir()
    >>> rng = np.random.default_rng(0)
    >>> for i in range(12):  # 12 x 2 s of noise
    ...     sf.write(tmp / "audio" / f"{i}.wav",
    ...              0.1 * rng.standard_normal(32000), 16000)
    >>> csv = prepare_audio_folder(tmp / "audio", tmp, progress=False,
    ...                            workers=1)
    >>> index = write_shards(csv, tmp / "shards", shard_hours=0.002,
    ...                      workers=1, progress=False)
    >>> info = json.load(open(index))
    >>> info["total_samples"] == len(read_csv(csv)), len(info["shards"]) > 1
    (True, True)
    """
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"No prepared CSV at {csv_path}")
    if shard_hours <= 0:
        raise ValueError(f"shard_hours must be > 0, got {shard_hours}")
    rows = read_csv(csv_path)
    if not rows:
        raise ValueError(f"{csv_path} has no rows: nothing to shard")
    os.makedirs(out_folder, exist_ok=True)
    index_path = os.path.join(out_folder, INDEX_NAME)
    stat = os.stat(csv_path)
    options = {
        "csv": os.path.abspath(csv_path),
        "csv_size": stat.st_size,
        "csv_mtime": int(stat.st_mtime),
        "shard_hours": shard_hours,
        "sample_rate": sample_rate,
        "seed": seed,
        "shuffle": shuffle,
    }
    if os.path.isfile(index_path):
        with open(index_path, encoding="utf-8") as fin:
            if json.load(fin).get("options") == options:
                logger.info("shards already written in %s", out_folder)
                return index_path
    plan = plan_shards(rows, shard_hours, seed=seed, shuffle=shuffle)
    names = [f"shard-{i:06d}.tar" for i in range(len(plan))]
    journal_path = os.path.join(out_folder, JOURNAL_NAME)
    done = _read_journal(journal_path, options)
    done = {
        name: rec
        for name, rec in done.items()
        if os.path.isfile(os.path.join(out_folder, name))
    }
    if done:
        logger.info("resuming: %d of %d shards done", len(done), len(plan))
    with open(journal_path, "w", encoding="utf-8") as journal:
        journal.write(json.dumps({"options": options}) + "\n")
        for rec in done.values():
            journal.write(json.dumps(rec) + "\n")
        journal.flush()
        jobs = [
            (os.path.join(out_folder, name), shard, sample_rate)
            for name, shard in zip(names, plan)
            if name not in done
        ]
        bar = tqdm(
            total=len(plan),
            initial=len(done),
            desc="shards",
            unit="shard",
            disable=not progress,
        )
        if workers <= 1:
            results = map(_write_shard_job, jobs)
        else:
            # forkserver: forking a process whose other threads (torch, a
            # progress bar, a process group) hold locks can deadlock the child.
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=get_context("forkserver")
            )
            results = pool.map(_write_shard_job, jobs)
        for rec in results:
            done[rec["name"]] = rec
            journal.write(json.dumps(rec) + "\n")
            journal.flush()
            bar.update(1)
        bar.close()
        if workers > 1:
            pool.shutdown()
    records = [done[name] for name in names]
    report = ExclusionReport("shards")
    for rec in records:
        for where, reason in rec["excluded"]:
            report.exclude(where, "unreadable", reason)
    report.checked = len(rows)  # every row was checked, not just these
    report.log(logger)
    report.write(os.path.join(out_folder, REPORT_NAME))
    index = {
        "format": FORMAT_VERSION,
        "sample_rate": sample_rate,
        "options": options,
        "total_samples": sum(r["samples"] for r in records),
        "total_seconds": round(sum(r["seconds"] for r in records), 4),
        "excluded": sum(len(r["excluded"]) for r in records),
        "shards": [
            {k: r[k] for k in ("name", "samples", "seconds")}
            for r in records
            if r["samples"]
        ],
    }
    tmp = index_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fout:
        json.dump(index, fout, indent=1)
    os.replace(tmp, index_path)
    os.remove(journal_path)
    logger.info(
        "wrote %d shards (%d samples, %.1f h) to %s",
        len(index["shards"]),
        index["total_samples"],
        index["total_seconds"] / 3600,
        out_folder,
    )
    return index_path


def main(argv=None):
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m summary_ssl.dataio.shards",
        description="Write WebDataset tar shards from a prepared CSV.",
    )
    parser.add_argument("--csv", required=True, help="a prepared CSV")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--shard-hours",
        type=float,
        default=1.0,
        help="audio per shard, in hours (default 1)",
    )
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--seed", type=int, default=1986)
    parser.add_argument(
        "--no-shuffle",
        action="store_true",
        help="keep the CSV order (default: shuffle rows across shards)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--noprogressbar", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    index = write_shards(
        args.csv,
        args.out,
        shard_hours=args.shard_hours,
        sample_rate=args.sample_rate,
        seed=args.seed,
        shuffle=not args.no_shuffle,
        workers=args.workers,
        progress=not args.noprogressbar,
    )
    print(index)
    return index


if __name__ == "__main__":
    main()
