"""Data-loader throughput: audio-seconds delivered per second per loader
worker, for the three kinds of training rows the recipes read.

What is measured
----------------
The real LibriSpeech utterances of ``../shared/real_speech/
librispeech_excerpts`` beside the checkout (351 files, 12.8 + 52.3 min,
16 kHz FLAC), fed
through the recipes' own pipelines (``summary_ssl.brains.recipe``):

* ``csv``: ``prepare_audio_folder`` over the folder, the recipe's CSV
  dataset (``_csv_dataset``: whole files) and ``DynamicBatchSampler``
  (``max_batch_length`` 360 s, ``num_buckets`` 70, shuffled, random batch
  order: the recipe YAMLs' values), in a ``torch.utils.data.DataLoader``
  with ``collate_fn=collate_readable`` and ``num_workers=W``;
* ``librilight``: the same utterances concatenated, with 0.4-1.2 s of
  low noise between them, into long "book" files (about 8 min each) of a
  Libri-Light layout in the work folder, with a JSON ``voice_activity``
  list of the speech; ``prepare_librilight(target_len_sec=20)``, then the
  same CSV dataset and sampler, which reads only each row's spans
  (seek + read into a long FLAC);
* ``shards``: ``write_shards`` from the ``csv`` rows (``--shard-hours``,
  0.05 h: about 22 shards), then ``ShardLoader(ShardStream(folder,
  max_batch_length=360), num_workers=W)`` (the recipe's shuffle and batch
  buffers, 256).

For each kind and W in ``--workers`` (1,2), one untimed epoch warms the
page cache, then whole epochs are run (a fresh loader iterator each, so
worker start-up is included, as in training without persistent workers)
until ``--seconds`` of wall time have passed. Delivered audio is the sum
of the true lengths of every batch (``batch.sig``: relative lengths x
padded length / 16 kHz); padding is not counted. Reported: audio-s/s in
total and per worker, and audio-s per CPU-second of the worker processes
(their user + system time, from ``RUSAGE_CHILDREN`` after they are
joined): the latter is what one fully used core delivers and does not
depend on how busy the machine was. PyTorch sets 1 intra-op thread in
each loader worker; the main process is set to 1 thread too.

From the per-worker rate it derives the loader workers needed per GPU to
feed the eager ``summarymixing_w2v2`` step measured on the H100
(2,169 audio-s/s, ``benchmarks/RESULTS.md``); a compiled step, once it
runs, will consume more and need proportionally more workers.

Usage: ``python benchmarks/loader_throughput.py [--quick] [--json out.json]``
"""

import argparse
import datetime
import json
import math
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
from cpu_bench_common import (  # noqa: E402
    BATCHING,
    finish_run,
    load_average,
)
from torch.utils.data import DataLoader  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from summary_ssl.brains.recipe import (  # noqa: E402
    _csv_dataset,
    length_sampler,
)
from summary_ssl.dataio.audio_folder import prepare_audio_folder  # noqa: E402
from summary_ssl.dataio.librilight import prepare_librilight  # noqa: E402
from summary_ssl.dataio.readable_batches import collate_readable  # noqa: E402
from summary_ssl.dataio.shard_stream import ShardLoader, ShardStream  # noqa: E402
from summary_ssl.dataio.shards import write_shards  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(
    os.path.dirname(REPO), "shared", "real_speech", "librispeech_excerpts"
)
SAMPLE_RATE = 16000
#: Eager summarymixing_w2v2 optimizer step on one H100, L = 12.5 s
#: (benchmarks/RESULTS.md, GPU check of 2026-11-26).
H100_EAGER_AUDIO_S_PER_S = 2169.0


def machine():
    """CPU model and core count (``lscpu``, ``os.cpu_count``).

    Returns
    -------
    str
    """
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def build_librilight(csv_path, root, book_minutes=8.0, seed=0):
    """Writes a Libri-Light layout of long "books" made of the CSV's files.

    Arguments
    ---------
    csv_path : str
        A prepared CSV (``ID,duration,wav``) of 16 kHz files.
    root : str
        The layout's root; books go to ``<root>/small/<spk>/<book>/``.
    book_minutes : float
        Approximate length of each book.
    seed : int
        Seed of the gaps and noise.

    Returns
    -------
    int
        The number of books written.
    """
    import csv

    with open(csv_path, encoding="utf-8") as fin:
        wavs = [row["wav"] for row in csv.DictReader(fin)]
    rng = np.random.default_rng(seed)
    limit = book_minutes * 60 * SAMPLE_RATE
    books, current = [], []
    for wav in wavs:
        current.append(wav)
        if sum(sf.info(w).frames for w in current) >= limit:
            books.append(current)
            current = []
    if current:
        books.append(current)
    for b, files in enumerate(books):
        folder = os.path.join(
            root, "small", str(1000 + b), f"book_{b:02d}_64kb"
        )
        os.makedirs(folder, exist_ok=True)
        pieces, spans, pos = [], [], 0
        for wav in files:
            gap = rng.normal(0, 1e-3, int(rng.uniform(0.4, 1.2) * SAMPLE_RATE))
            audio, _ = sf.read(wav, dtype="float64")
            pieces += [gap, audio]
            pos += len(gap)
            spans.append([pos / SAMPLE_RATE, (pos + len(audio)) / SAMPLE_RATE])
            pos += len(audio)
        name = os.path.join(folder, f"chapter_{b:02d}_64kb")
        sf.write(
            name + ".flac",
            np.concatenate(pieces).astype("float32"),
            SAMPLE_RATE,
            subtype="PCM_16",
        )
        with open(name + ".json", "w", encoding="utf-8") as fout:
            json.dump({"voice_activity": spans}, fout)
    return len(books)


def prepare(work, shard_hours):
    """Prepares the three sources under ``work``.

    Returns
    -------
    dict
        kind -> CSV path or shard folder.
    """
    csv = prepare_audio_folder(
        SOURCE, os.path.join(work, "csv"), progress=False, workers=2
    )
    ll_root = os.path.join(work, "librilight_layout")
    if not os.path.isdir(ll_root):
        build_librilight(csv, ll_root)
    ll_csv = prepare_librilight(
        ll_root,
        os.path.join(work, "librilight"),
        target_len_sec=20.0,
        progress=False,
        workers=2,
    )
    shards = os.path.join(work, "shards")
    write_shards(
        csv, shards, shard_hours=shard_hours, workers=2, progress=False
    )
    return {"csv": csv, "librilight": ll_csv, "shards": shards}


def make_loader(kind, source, workers, epoch):
    """The recipe's train loader for one epoch (see the module docstring)."""
    if kind == "shards":
        stream = ShardStream(
            source, max_batch_length=BATCHING["max_batch_length"]
        )
        loader = ShardLoader(stream, num_workers=workers)
        loader.set_epoch(epoch)
        return loader
    data = _csv_dataset(source, SAMPLE_RATE)
    sampler = length_sampler(data, BATCHING, shuffle=True)
    sampler.set_epoch(epoch)
    return DataLoader(
        data,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate_readable,
    )


def children_cpu():
    """User + system CPU seconds of joined child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_epoch(kind, source, workers, epoch, max_batches=None):
    """Iterates one epoch; returns (audio seconds, batches, wall s, worker
    CPU s)."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    loader = make_loader(kind, source, workers, epoch)
    audio, batches = 0.0, 0
    iterator = iter(loader)
    for batch in iterator:
        wavs, lens = batch.sig
        audio += float(lens.sum()) * wavs.shape[1] / SAMPLE_RATE
        batches += 1
        if max_batches and batches >= max_batches:
            break
    del iterator  # joins the workers, so their CPU time is counted
    if hasattr(loader, "_iterator"):
        loader._iterator = None
    wall = time.perf_counter() - t0
    return audio, batches, wall, children_cpu() - cpu0


def measure(kind, source, workers, seconds, quick):
    """Warm-up epoch, then whole epochs until ``seconds`` have passed.

    Returns
    -------
    dict
    """
    max_batches = 3 if quick else None
    one_epoch(kind, source, workers, 1, max_batches)
    audio = wall = cpu = 0.0
    batches = epochs = 0
    while wall < seconds or epochs == 0:
        a, b, w, c = one_epoch(kind, source, workers, epochs + 2, max_batches)
        audio, batches, wall, cpu = audio + a, batches + b, wall + w, cpu + c
        epochs += 1
    total = audio / wall
    return {
        "kind": kind,
        "workers": workers,
        "epochs": epochs,
        "batches": batches,
        "audio_s": round(audio, 1),
        "wall_s": round(wall, 2),
        "audio_s_per_s": round(total, 1),
        "per_worker": round(total / workers, 1),
        "worker_cpu_s": round(cpu, 2),
        "audio_s_per_cpu_s": round(audio / cpu, 1) if cpu > 0 else None,
    }


def markdown(results, meta):
    """The results table and the derived workers per GPU."""
    lines = [
        f"Loader throughput, {meta['date']}, {meta['machine']}",
        "",
        f"- command: `{meta['command']}`",
        f"- load average before: {meta['load_before']}; after: "
        f"{meta['load_after']} (other work shared the 2 cores)",
        "- W = 1 and 2 only: the machine has 2 cores (the recipes use 4).",
        "- per worker = audio-s/s / W (wall clock, worker start-up "
        "included); per worker CPU-s = audio-s per CPU-second of the "
        "workers (contention-free rate of one busy core).",
        f"- workers per GPU = {H100_EAGER_AUDIO_S_PER_S:,.0f} audio-s/s "
        "(eager summarymixing_w2v2 step, one H100, RESULTS.md) / the "
        "per-worker rate, rounded up; the compiled step will consume "
        "more and need proportionally more.",
        "",
        "| rows | W | epochs | batches | audio s | wall s | audio-s/s "
        "| per worker | per worker CPU-s | workers/GPU (wall) "
        "| workers/GPU (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        need = math.ceil(H100_EAGER_AUDIO_S_PER_S / r["per_worker"])
        cpu = r["audio_s_per_cpu_s"]
        need_cpu = math.ceil(H100_EAGER_AUDIO_S_PER_S / cpu) if cpu else "—"
        lines.append(
            f"| {r['kind']} | {r['workers']} | {r['epochs']} | "
            f"{r['batches']} | {r['audio_s']:.0f} | {r['wall_s']:.1f} | "
            f"{r['audio_s_per_s']:.0f} | {r['per_worker']:.0f} | "
            f"{cpu if cpu else '—'} | {need} | {need_cpu} |"
        )
    return "\n".join(lines)


def main(argv=None):
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 batches per epoch, 1 timed epoch",
    )
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--kinds", default="csv,librilight,shards")
    parser.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="wall time per measurement (at least)",
    )
    parser.add_argument("--shard-hours", type=float, default=0.05)
    parser.add_argument(
        "--work",
        default="/tmp/loader_throughput",
        help="prepared data (kept and reused)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seconds = 0.0 if args.quick else args.seconds
    meta = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "command": "python " + " ".join([sys.argv[0]] + sys.argv[1:]),
        "torch": torch.__version__,
        "load_before": load_average(),
        "source": os.path.relpath(SOURCE, REPO),
        **BATCHING,
    }
    t0 = time.perf_counter()
    sources = prepare(args.work, args.shard_hours)
    meta["prepare_s"] = round(time.perf_counter() - t0, 1)
    results = []
    for kind in args.kinds.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            r = measure(kind, sources[kind], workers, seconds, args.quick)
            results.append(r)
            print(
                f"# {kind} W={workers}: {r['audio_s_per_s']:.0f} audio-s/s",
                flush=True,
            )
    return finish_run(meta, results, markdown, args.json, t0)


if __name__ == "__main__":
    main()
