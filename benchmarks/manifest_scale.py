"""Manifest scale: start-up time and memory of the training data set and
its sampler at 1k-60k hours, CSV rows against WebDataset shards.

What is measured
----------------
No audio is read. For each number of hours in ``--hours``:

* CSV: a synthetic SpeechBrain CSV ``ID,duration,wav,spans`` shaped like
  ``prepare_librilight``'s (durations uniform in 10-20.2 s, mean 15.1 s:
  about 238k rows per 1k hours; Libri-Light-like IDs, paths and 1-3
  spans per row) is written, then a fresh Python process imports the
  recipe code, notes its RSS (the baseline), and times what each training
  process does at start-up: the recipe's CSV dataset
  (``summary_ssl.brains.recipe._csv_dataset``:
  ``DynamicItemDataset.from_csv`` + the audio item),
  ``DynamicBatchSampler(max_batch_length=360, num_buckets=70,
  length_func=duration, shuffle=True, batch_ordering="random")`` (its
  constructor computes every length and the first epoch's batches) and
  the first batch of ``iter(sampler)``.
* Shards: a synthetic ``shards.json`` with the same hours in 1-h shards
  (``name``, ``samples``, ``seconds``) and empty placeholder tar files,
  then in a fresh process ``ShardStream(folder, max_batch_length=360)``
  (reads the index, checks every listed shard exists) + ``set_epoch(1)``
  + ``worker_shards(0, 4)``.

Memory: the child's peak RSS (``VmHWM``) and its RSS after start-up
minus the baseline (what the data set and sampler hold). Each DataLoader
worker is a fork of the process and holds the same objects; copy-on-write
saves little for Python objects, since reference counts and the garbage
collector write to their headers, so the CSV side costs up to (1 + W)
times the delta per training process with W workers. The parent polls
the child's RSS and kills it past ``--max-rss-gib`` (18 GiB, lowered to
what the machine has available) or ``--timeout`` seconds; a size that
could not be measured is given as a linear extrapolation from the two
largest measured sizes, labelled as such.

Usage: ``python benchmarks/manifest_scale.py [--quick]
[--hours 1000,10000,60000] [--json out.json]``
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
from cpu_bench_common import BATCHING, finish_run, load_average

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 250_000
PIECES_PER_FILE = 120  # a Libri-Light file of ~30 min cut into ~15-s pieces


def rss_mib(pid="self", field="VmRSS"):
    """Resident set size (``VmRSS``; ``VmHWM``: its peak) in MiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fin:
        for line in fin:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def write_csv(path, hours, seed=0):
    """Writes a synthetic Libri-Light-like CSV of ``hours`` of rows.

    Arguments
    ---------
    path : str
        The CSV to write.
    hours : float
        Total duration of the rows.
    seed : int
        Seed of the durations and names.

    Returns
    -------
    int
        The number of rows.
    """
    rng = np.random.default_rng(seed)
    words = (
        "the history of adventures tom sawyer letters collected poems war"
        " peace mystery island essays volume notes journey short_stories"
    ).split()
    titles = [
        "_".join(rng.choice(words, rng.integers(2, 6))) for _ in range(4000)
    ]
    letters = list("abcdefghijklmnopqrstuvwxyz")
    authors = ["".join(rng.choice(letters, 8)) for _ in range(3000)]
    target, total, rows = hours * 3600.0, 0.0, 0
    with open(path, "w", encoding="utf-8") as fout:
        fout.write("ID,duration,wav,spans\n")
        while total < target:
            dur = rng.uniform(10.0, 20.2, CHUNK)
            csum = total + np.cumsum(dur)
            n = CHUNK
            if csum[-1] >= target:
                n = int(np.searchsorted(csum, target)) + 1
            dur = dur[:n]
            total = float(csum[n - 1])
            piece = np.arange(rows, rows + n) % PIECES_PER_FILE
            file_no = np.arange(rows, rows + n) // PIECES_PER_FILE
            start = piece * 16000 * 16 + rng.integers(0, 16000, n)
            stop = start + (dur * 16000).astype(np.int64)
            split = rng.random(n) < 0.5
            frac = rng.uniform(0.3, 0.7, n)
            mid = start + ((stop - start) * frac).astype(np.int64)
            lines = []
            for i in range(n):
                f = int(file_no[i])
                spk, title = 100 + f % 9000, titles[f % 4000]
                author, ch = authors[f % 3000], f % 40
                name = f"{title}_{ch:02d}_{f:06d}_{author}_64kb"
                s, e = int(start[i]), int(stop[i])
                spans = (
                    f"{s}:{int(mid[i])} {int(mid[i]) + 8000}:{e + 8000}"
                    if split[i]
                    else f"{s}:{e}"
                )
                lines.append(
                    f"{spk}_{title}_64kb_mp3_{name}_{int(piece[i]):04d},"
                    f"{dur[i]:.4f},/data/LibriLight/medium/{spk}/"
                    f"{title}_64kb_mp3/{name}.flac,{spans}\n"
                )
            fout.write("".join(lines))
            rows += n
    return rows


def write_shard_folder(folder, hours):
    """Writes ``shards.json`` of ``hours`` 1-h shards and empty tar files.

    Returns
    -------
    int
        The number of shards.
    """
    sys.path.insert(0, ROOT)
    from summary_ssl.dataio.shards import FORMAT_VERSION, INDEX_NAME

    os.makedirs(folder, exist_ok=True)
    n = max(1, int(round(hours)))
    shards = []
    for i in range(n):
        name = f"shard-{i:06d}.tar"
        open(os.path.join(folder, name), "wb").close()
        shards.append({"name": name, "samples": 238, "seconds": 3600.0})
    index = {
        "format": FORMAT_VERSION,
        "sample_rate": 16000,
        "options": {"synthetic": True, "shard_hours": 1.0},
        "total_samples": 238 * n,
        "total_seconds": 3600.0 * n,
        "excluded": 0,
        "shards": shards,
    }
    with open(os.path.join(folder, INDEX_NAME), "w", encoding="utf-8") as fout:
        json.dump(index, fout, indent=1)
    return n


def child(kind, path):
    """Runs in the fresh process: times start-up; prints a JSON line."""
    sys.path.insert(0, ROOT)
    import gc

    import speechbrain  # noqa: F401

    from summary_ssl.brains.recipe import _csv_dataset, length_sampler
    from summary_ssl.dataio.shard_stream import ShardStream

    gc.collect()
    base = rss_mib()
    times = {}
    t0 = time.perf_counter()
    if kind == "csv":
        data = _csv_dataset(path, 16000)
        times["dataset_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        sampler = length_sampler(data, BATCHING, shuffle=True)
        times["sampler_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        next(iter(sampler))
        times["first_batch_s"] = time.perf_counter() - t1
        extra = {"rows": len(data), "batches": len(sampler)}
    else:
        stream = ShardStream(
            path, max_batch_length=BATCHING["max_batch_length"]
        )
        times["stream_s"] = time.perf_counter() - t0
        stream.set_epoch(1)
        mine = stream.worker_shards(0, 4)
        extra = {
            "shards": len(stream.index["shards"]),
            "worker_shards": len(mine),
        }
    times["startup_s"] = time.perf_counter() - t0
    # VmHWM: ru_maxrss survives exec (it can hold the parent's RSS)
    peak = rss_mib(field="VmHWM")
    out = {
        "baseline_mib": base,
        "rss_delta_mib": rss_mib() - base,
        "peak_rss_mib": peak,
        **times,
        **extra,
    }
    print("RESULT " + json.dumps(out), flush=True)


def run_child(kind, path, max_rss_mib, timeout):
    """Runs :func:`child` in a fresh interpreter, watching its RSS.

    Returns
    -------
    dict
        The child's numbers, or ``{"error": ...}``.
    """
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--child", kind, path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    t0, watched = time.perf_counter(), 0.0
    error = None
    while proc.poll() is None:
        try:
            watched = max(watched, rss_mib(proc.pid))
        except OSError:
            pass
        if watched > max_rss_mib:
            error = f"killed: RSS {watched:.0f} MiB > guard {max_rss_mib:.0f}"
        elif time.perf_counter() - t0 > timeout:
            error = f"killed: over {timeout:.0f} s"
        if error:
            proc.kill()
            break
        time.sleep(0.2)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]), child_wall_s=wall)
    return {
        "error": error or f"rc {proc.returncode}: {err.strip()[-300:]}",
        "child_wall_s": wall,
        "watched_peak_mib": watched,
    }


def extrapolate(results, side, key):
    """Linear fit of ``key`` in hours through the two largest measured
    sizes; returns a function of hours, or None."""
    pts = [
        (r["hours"], r[side][key])
        for r in results
        if key in r.get(side, {}) and not r[side].get("extrapolated")
    ]
    if len(pts) < 2:
        return None
    (h1, y1), (h2, y2) = sorted(pts)[-2:]
    slope = (y2 - y1) / (h2 - h1)
    return lambda h: y2 + slope * (h - h2)


def markdown(results, meta):
    """The results table."""
    lines = [
        f"Manifest scale, {meta['date']}, {meta['machine']}",
        "",
        f"- command: `{meta['command']}`",
        f"- load average before: {meta['load_before']}; after: "
        f"{meta['load_after']}",
        "- start-up s: dataset + sampler + first batch (CSV); ShardStream +"
        " set_epoch + worker_shards(0, 4) (shards). RSS: peak (VmHWM)"
        " / delta over the interpreter after imports "
        f"(~{meta.get('baseline_mib', 0):.0f} MiB). Fresh process each.",
        "- every DataLoader worker holds a copy of the CSV data set:"
        " about (1 + workers) x the delta per training process.",
        "- *italic* = linear extrapolation from the two largest measured "
        "sizes, not a measurement.",
        "",
        "| hours | rows | CSV MB | CSV start-up s | CSV peak RSS MiB | "
        "CSV RSS delta MiB | shards | shards start-up s | "
        "shards peak RSS MiB | shards RSS delta MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(side, key, fmt):
        value = side.get(key)
        if value is None:
            return side.get("error", "—")
        text = format(value, fmt)
        return f"*{text} (extrap.)*" if side.get("extrapolated") else text

    for r in results:
        c, s = r["csv"], r["shards"]
        lines.append(
            f"| {r['hours']:,} | {r['rows']:,} | {r['csv_mb']:.0f} | "
            f"{cell(c, 'startup_s', '.2f')} | {cell(c, 'peak_rss_mib', ',.0f')}"
            f" | {cell(c, 'rss_delta_mib', ',.0f')} | {r['n_shards']:,} | "
            f"{cell(s, 'startup_s', '.3f')} | {cell(s, 'peak_rss_mib', ',.0f')}"
            f" | {cell(s, 'rss_delta_mib', ',.1f')} |"
        )
    for r in results:
        if r["csv"].get("extrapolated"):
            lines.append(
                f"\nCSV at {r['hours']:,} h not measured: {r['csv']['reason']}"
            )
    return "\n".join(lines)


def main(argv=None):
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", default="1000,10000,60000")
    parser.add_argument("--quick", action="store_true", help="10 h only")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--work", default="/tmp/manifest_scale")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per child process"
    )
    parser.add_argument("--max-rss-gib", type=float, default=18.0)
    parser.add_argument("--shards-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    hours = [10] if args.quick else [int(h) for h in args.hours.split(",")]
    with open("/proc/meminfo", encoding="ascii") as fin:
        avail = next(int(x.split()[1]) for x in fin if "MemAvailable" in x)
    guard = min(args.max_rss_gib * 1024, avail / 1024 - 1536)
    cmd = "lscpu | sed -n 's/^Model name: *//p'"
    model = subprocess.getoutput(cmd).strip() or "unknown CPU"
    meta = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{model}, {os.cpu_count()} cores, "
        f"{avail / 2**20:.1f} GiB available",
        "command": "python " + " ".join(sys.argv),
        "load_before": load_average(),
        "rss_guard_mib": round(guard),
        "timeout_s": args.timeout,
    }
    os.makedirs(args.work, exist_ok=True)
    results, t_all = [], time.perf_counter()
    for h in hours:
        csv = os.path.join(args.work, f"rows_{h}h.csv")
        folder = os.path.join(args.work, f"shards_{h}h")
        t0 = time.perf_counter()
        rows = write_csv(csv, 0 if args.shards_only else h)
        gen_s = time.perf_counter() - t0
        n_shards = write_shard_folder(folder, h)
        mb = os.path.getsize(csv) / 1e6
        r = dict(hours=h, rows=rows, csv_gen_s=gen_s, csv_mb=mb)
        r["n_shards"] = n_shards
        print(f"# {h} h: {rows:,} rows written in {gen_s:.0f} s", flush=True)
        r["csv"] = {"error": "not run (--shards-only)"}
        if not args.shards_only:
            r["csv"] = run_child("csv", csv, guard, args.timeout)
        r["shards"] = run_child("shards", folder, guard, args.timeout)
        print(f"# {h} h: csv {r['csv']} shards {r['shards']}", flush=True)
        meta.setdefault("baseline_mib", r["shards"].get("baseline_mib", 0))
        results.append(r)
        if not args.keep:
            os.remove(csv)
            shutil.rmtree(folder)
    for side in ("csv", "shards"):
        for r in results:
            if "error" not in r[side]:
                continue
            fits = {
                k: extrapolate(results, side, k)
                for k in ("startup_s", "peak_rss_mib", "rss_delta_mib")
            }
            if all(fits.values()):
                reason = r[side]["error"]
                r[side] = {k: f(r["hours"]) for k, f in fits.items()}
                r[side].update(extrapolated=True, reason=reason)
    return finish_run(meta, results, markdown, args.json, t_all)


if __name__ == "__main__":
    main()
