"""Helpers shared by the benchmark scripts in this folder.

``encoder_bench.py`` and ``pretrain_step_bench.py`` both time one kind of
step per cell (warm-up, then CUDA events around each timed step, the
median reported), survive a failed or out-of-memory cell, keep to a time
budget, print progress and rewrite their JSON after every cell, and print
a markdown header and one table per group of cells. What is common to both
lives here; each script keeps only what it measures and how it reports it.

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import datetime
import gc
import json
import os
import platform
import shlex
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import torch

# Importing this module (every script here does it first) puts this folder
# and the repository root on ``sys.path``: the scripts then run from a
# checkout without installing, and find ``summary_ssl`` and each other.
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _path in (REPO, HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

GIB = 2.0**30

CPU_NOTE = [
    "",
    "**NOTE: this ran on the CPU. CPU numbers are a smoke test, "
    "NOT the benchmark.**",
]


# --------------------------------------------------------------------------
# Command line and set-up
# --------------------------------------------------------------------------


def missing_dependency(script, needs, error):
    """The ``SystemExit`` that ``script`` raises when what it ``needs``
    cannot be imported (``error``).

    Example
    -------
    >>> error = ImportError("no speechbrain")
    >>> print(missing_dependency("my_bench", "speechbrain", error))
    my_bench needs speechbrain (no speechbrain). On the GPU machine, ...
    """
    return SystemExit(
        f"{script} needs {needs} ({error}). On the GPU machine, carry the "
        "wheels: see benchmarks/README.md."
    )


def new_parser(doc):
    """An argument parser described by the first paragraph of ``doc``."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def add_timing_args(p):
    """``--warmup`` and ``--iters``."""
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)


def add_machine_args(p):
    """``--peak-tflops``, ``--device`` and ``--seed``."""
    p.add_argument("--peak-tflops", type=float, default=800.0)
    p.add_argument("--device", default=None, help="default: cuda if any")
    p.add_argument("--seed", type=int, default=0)


def add_sync_check_arg(p):
    """``--no-sync-check`` (``args.sync_check``)."""
    p.add_argument(
        "--no-sync-check",
        dest="sync_check",
        action="store_false",
        help="skip counting host-device syncs (CUDA sync debug mode)",
    )


def add_output_args(p):
    """``--max-seconds`` and ``--json``."""
    p.add_argument(
        "--max-seconds",
        type=float,
        default=0.0,
        help="skip cells that would end past this many seconds (0: none)",
    )
    p.add_argument("--json", default=None, help="write results here")


def comma_list(text, parse=str):
    """The items of a comma-separated option, each through ``parse``
    (empty items dropped).

    Example
    -------
    >>> comma_list("4,8,,16", int)
    [4, 8, 16]
    """
    return [parse(item) for item in text.split(",") if item]


def comma_names(p, text, valid, what):
    """The names of a comma-separated option; ``p.error`` (the parser's
    usage message and exit) names the ``what`` not in ``valid``.

    Example
    -------
    >>> comma_names(new_parser("x"), "a,b", ("a", "b", "c"), "models")
    ['a', 'b']
    """
    names = comma_list(text)
    unknown = [name for name in names if name not in valid]
    if unknown:
        p.error(f"unknown {what} {unknown}; valid: {list(valid)}")
    return names


def command_line(argv, entry):
    """``(argv, command)``: the arguments (``sys.argv[1:]`` when ``argv``
    is None) and the command line to report (``entry`` names the
    ``main`` function when called from Python)."""
    if argv is None:
        argv = sys.argv[1:]
        return argv, shlex.join(["python", sys.argv[0]] + list(argv))
    return argv, shlex.join([entry] + list(argv))


def select_device(args):
    """The device of ``--device`` (default: cuda if any), made current,
    with ``cudnn.benchmark`` as ``--cudnn-benchmark`` says on CUDA."""
    device = torch.device(
        args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    )
    if device.type == "cuda":
        if device.index is None:  # set_device and friends want an index
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
    return device


def raise_recompile_limits():
    """Lets dynamo keep up to 64 graphs per code object."""
    for knob in ("cache_size_limit", "recompile_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, 64)


def run_meta(device, command):
    """The first entries of a run's ``meta``: date, device, versions and
    the command line."""
    import speechbrain  # imported (with a clear error) by the scripts

    return dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        device=device.type,
        device_name=(
            torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else f"CPU ({platform.processor() or platform.machine()}, "
            f"{torch.get_num_threads()} threads)"
        ),
        torch=torch.__version__,
        speechbrain=speechbrain.__version__,
        python=platform.python_version(),
        cuda=torch.version.cuda,
        command=command,
    )


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


def pin(tensor, device):
    """``tensor`` in pinned memory when it is bound for CUDA."""
    return tensor.pin_memory() if device.type == "cuda" else tensor


def sync(device):
    """Waits for ``device`` (CUDA only)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def dynamo_counters():
    """Copies dynamo's graph/break counters (empty dict if unavailable)."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:  # pragma: no cover
        return {}
    return {
        "unique_graphs": int(counters["stats"].get("unique_graphs", 0)),
        "graph_breaks": {
            str(k)[:200]: int(v) for k, v in counters["graph_break"].items()
        },
    }


def clear_dynamo():
    """Resets dynamo and its counters."""
    torch._dynamo.reset()
    try:
        from torch._dynamo.utils import counters

        counters.clear()
    except ImportError:  # pragma: no cover
        pass


class Budget:
    """Skips cells that would not finish within ``max_seconds``."""

    def __init__(self, max_seconds):
        self.max_seconds = max_seconds
        self.start = time.perf_counter()
        self.longest = 0.0

    def allows_another(self):
        if not self.max_seconds:
            return True
        elapsed = time.perf_counter() - self.start
        return elapsed + self.longest <= self.max_seconds

    def record(self, seconds):
        self.longest = max(self.longest, seconds)


def count_syncs(step, device):
    """Host-device synchronisations in one step (CUDA sync debug mode)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
        torch.cuda.synchronize(device)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    return len(syncs)


def time_steps(cell, step, args, device):
    """Warms up, then times ``args.iters`` calls of ``step()``; returns the
    times in ms.

    ``args.warmup`` steps; on CUDA, one more (warm) step after
    ``reset_peak_memory_stats`` so that ``cell["peak_gib"]`` is the peak
    over it and the timed steps, each timed step between two CUDA events
    with no sync in between, then (``args.sync_check``) one step in CUDA's
    sync debug mode for ``cell["host_syncs_per_step"]``. On CPU,
    ``time.perf_counter`` and ``peak_gib`` None. ``cell["stage"]`` follows.
    """
    cell["stage"] = "warmup"
    for _ in range(args.warmup):
        step()
    sync(device)
    if device.type == "cuda":
        gc.collect()
        torch.cuda.reset_peak_memory_stats(device)
        # Peak over a (warm) warm-up step plus the timed steps.
        step()
        torch.cuda.synchronize(device)

    cell["stage"] = "timing"
    times_ms = []
    if device.type == "cuda":
        starts = [
            torch.cuda.Event(enable_timing=True) for _ in range(args.iters)
        ]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(args.iters)]
        for i in range(args.iters):
            starts[i].record()
            step()
            ends[i].record()
        torch.cuda.synchronize(device)
        times_ms = [s.elapsed_time(e) for s, e in zip(starts, ends)]
        cell["peak_gib"] = torch.cuda.max_memory_allocated(device) / GIB
    else:
        for _ in range(args.iters):
            t0 = time.perf_counter()
            step()
            times_ms.append((time.perf_counter() - t0) * 1e3)
        cell["peak_gib"] = None

    if device.type == "cuda" and args.sync_check:
        cell["stage"] = "sync-check"
        cell["host_syncs_per_step"] = count_syncs(step, device)
    return times_ms


def record_times(cell, times_ms):
    """Ends a measured cell: drops its ``stage``, adds every time and the
    median, min and max."""
    cell.pop("stage")
    cell["times_ms"] = times_ms
    cell["ms"] = statistics.median(times_ms)
    cell["ms_min"] = min(times_ms)
    cell["ms_max"] = max(times_ms)


# --------------------------------------------------------------------------
# Running the cells
# --------------------------------------------------------------------------


def run_cells(plan, cells, budget, *, new_cell, measure, progress, **run):
    """Runs every ``(name, x, data)`` item of ``plan``, appending a cell
    each to ``cells``; a failed cell is recorded (OOM, error) and the run
    goes on.

    ``new_cell(name, x, data)`` makes the cell, ``measure(cell, data)``
    fills it (its ``stage`` says how far it got if this raises),
    ``progress(cell)`` prints it. ``run`` holds ``args``, ``device``,
    ``meta`` and ``gc_on_cpu`` (whether to ``gc.collect()`` after a cell
    on the CPU too). A KeyboardInterrupt inside a cell marks it and the
    remaining ones skipped. The JSON (``args.json``) is rewritten after
    every measured cell.
    """
    args, device, meta = run["args"], run["device"], run["meta"]
    interrupted = False
    for name, x, data in plan:
        cell = new_cell(name, x, data)
        if interrupted or not budget.allows_another():
            why = "interrupted" if interrupted else "time budget"
            cell.update(status="skipped", error=f"skipped ({why})")
            cells.append(cell)
            continue
        t0 = time.perf_counter()
        try:
            measure(cell, data)
        except KeyboardInterrupt:
            interrupted = True
            cell.update(status="skipped", error="skipped (interrupted)")
        except torch.cuda.OutOfMemoryError:
            cell.update(status="oom", error=f"OOM in {cell.get('stage')}")
        except Exception as error:  # noqa: BLE001 - report it, go on
            if "out of memory" in str(error).lower():  # e.g. wrapped OOM
                cell.update(status="oom", error=f"OOM in {cell.get('stage')}")
            else:
                cell.update(
                    status="error",
                    error=f"{type(error).__name__} in {cell.get('stage')}: "
                    f"{str(error)[:300]}",
                    traceback=traceback.format_exc()[-3000:],
                )
                print(cell["traceback"], file=sys.stderr, flush=True)
        cells.append(cell)
        if run["gc_on_cpu"] or device.type == "cuda":
            gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
        if args.compile:
            clear_dynamo()
        cell["cell_s"] = time.perf_counter() - t0
        budget.record(cell["cell_s"])
        progress(cell)
        write_json(args.json, meta, cells)


def print_progress(cell, label, summary, details=None):
    """Prints ``[label] summary (cell seconds)`` for a measured cell (its
    error for a failed one); ``summary(cell)`` gets peak memory and compile
    time appended. Then ``details(cell)`` if given, then the graph
    breaks."""
    if cell["status"] in ("ok", "nonfinite"):
        msg = summary(cell)
        if cell.get("peak_gib") is not None:
            msg += f", {cell['peak_gib']:.1f} GiB"
        if "compile_s" in cell:
            msg += f", compile {cell['compile_s']:.0f} s"
    else:
        msg = cell.get("error", cell["status"])
    print(f"[{label}] {msg} ({cell['cell_s']:.1f} s)", flush=True)
    if details is not None:
        details(cell)
    for reason, count in cell.get("dynamo", {}).get("graph_breaks", {}).items():
        first = reason.strip().splitlines()[0] if reason.strip() else "?"
        print(f"    graph break x{count}: {first}", flush=True)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt(value, spec):
    """``value`` formatted with ``spec``, or a dash for None."""
    return "—" if value is None else format(value, spec)


def run_header_lines(meta):
    """The date, device, versions and command lines of a header."""
    return [
        f"- date: {meta['date']}",
        f"- device: {meta['device_name']}",
        f"- torch {meta['torch']}, speechbrain {meta['speechbrain']}, "
        f"python {meta['python']}, CUDA {meta['cuda']}",
        f"- command: `{meta['command']}`",
    ]


def host_and_dynamo_notes(cell):
    """Notes on host syncs per step and dynamo's graphs and breaks."""
    notes = []
    if cell.get("host_syncs_per_step") is not None:
        notes.append(f"{cell['host_syncs_per_step']} host syncs/step")
    dynamo = cell.get("dynamo")
    if dynamo:
        breaks = sum(dynamo["graph_breaks"].values())
        notes.append(f"{dynamo['unique_graphs']} graphs, {breaks} breaks")
    return notes


def cell_table(head, cols, cells, *, ok_row, notes, name_key, compiled):
    """Markdown table (list of lines) of ``cells`` under ``head``.

    ``cols`` are the columns before ``compile s`` (when ``compiled``) and
    ``notes``, the first two being the name (``cell[name_key]``) and
    ``params M``. ``ok_row(cell)`` gives a measured cell's values; a
    failed cell shows its status (OOM, skipped, ERR) in every column after
    ``params M``. ``notes(cell)`` gives the last column.
    """
    cols = list(cols)
    n_values = len(cols)
    if compiled:
        cols.append("compile s")
    cols.append("notes")
    lines = [head, "", "| " + " | ".join(cols) + " |"]
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for c in cells:
        if c["status"] in ("ok", "nonfinite"):
            row = ok_row(c)
        else:
            label = {"oom": "OOM", "skipped": "skipped"}.get(c["status"], "ERR")
            row = [c[name_key], fmt(c.get("params_M"), ".4g")]
            row += [label] * (n_values - 2)
        if compiled:
            row.append(fmt(c.get("compile_s"), ".0f"))
        row.append(notes(c))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def write_json(path, meta, cells):
    """Writes ``{"meta", "results"}`` to ``path`` (atomically; nothing
    when ``path`` is empty)."""
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"meta": meta, "results": cells}, indent=1))
    os.replace(tmp, path)


def finish_report(header, tables, json_path, meta, cells):
    """Prints the tables, writes the JSON and the markdown beside it (as
    ``.md``); returns the whole markdown text (header and tables)."""
    lines = list(header) + [""]
    for table in tables:
        lines += table + [""]
    text = "\n".join(lines)
    print("\n".join(lines[len(header) :]), flush=True)
    write_json(json_path, meta, cells)
    if json_path:
        Path(json_path).with_suffix(".md").write_text(text + "\n")
    return text


def print_header(header):
    """Prints the header lines and a blank line."""
    print("\n".join(header), flush=True)
    print("", flush=True)
