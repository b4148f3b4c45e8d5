"""Regenerates the measured throughput the budget planner ships with.

    python tools/update_measured_throughput.py [--check]

reads the benchmark output of this checkout (``benchmarks/gpu_runs/*.json``
and ``benchmarks/*.json``: the step benchmark's JSON; its markdown tables in
``RESULTS.md`` are for people and never parsed), probes the planner's FLOPs
of each measured model from this checkout's YAMLs, and writes
``summary_ssl/budget/data/measured_throughput.json``, the file the planner
reads (installed wheels included). Run it after adding a GPU run under
``benchmarks/``; ``--check`` only tells whether the file is up to date
(exit status 1 if not).

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from summary_ssl.budget.measurements import load_measurements
from summary_ssl.budget.throughput import MEASURED_THROUGHPUT, planner_flops

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _folder(bench):
    """``bench`` as a Path, ``BENCH`` when None."""
    return Path(bench) if bench is not None else BENCH


def benchmark_sources(bench=None):
    """The benchmark output of a checkout: ``gpu_runs/*.json``, then
    ``*.json`` (a run found in both is read once: see
    :func:`load_measurements`).

    Arguments
    ---------
    bench : str or Path, optional
        The ``benchmarks`` folder (default: this checkout's, ``BENCH``).

    Returns
    -------
    list of Path
    """
    bench = _folder(bench)
    return sorted(bench.glob("gpu_runs/*.json")) + sorted(bench.glob("*.json"))


def measured_throughput_table(bench=None):
    """The content of :data:`MEASURED_THROUGHPUT`: every GPU cell of the
    benchmark output of a checkout (:func:`benchmark_sources`), with its
    source relative to the repository and the planner's FLOPs per
    audio-second of its model (:func:`planner_flops`, probed from this
    checkout's recipe YAMLs).

    :func:`main` writes it; a test checks that
    the shipped file equals it.

    Arguments
    ---------
    bench : str or Path, optional
        As in :func:`benchmark_sources`.

    Returns
    -------
    dict
        ``about``, ``sources`` (relative paths) and ``measurements`` (one
        dictionary of :class:`Measurement` fields per cell).
    """
    bench = _folder(bench)
    root = bench.resolve().parent
    paths = benchmark_sources(bench)
    cells = []
    for cell in load_measurements(paths):
        # Probed again from this checkout's YAML, so the shipped cells all
        # follow the planner's current count; the count a run recorded is
        # kept only where its YAML is gone.
        recorded, cell.planner_flops = cell.planner_flops, None
        probed = planner_flops(cell, root)
        cell.planner_flops = recorded if probed is None else probed
        cell.source = Path(cell.source).resolve().relative_to(root).as_posix()
        cells.append(dataclasses.asdict(cell))
    return {
        "about": "GPU pretraining-step measurements the budget planner "
        "uses; made from benchmarks/ by tools/update_measured_throughput.py"
        " (do not edit by hand)",
        "sources": [p.resolve().relative_to(root).as_posix() for p in paths],
        "measurements": cells,
    }


def render(table):
    """The file's text for a table of :func:`measured_throughput_table`.

    Example
    -------
    >>> render({"measurements": []})
    '{\\n "measurements": []\\n}\\n'
    """
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


def main(argv=None):
    """Writes (or, with ``--check``, compares) the shipped file; returns
    the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare, do not write"
    )
    args = parser.parse_args(argv)
    text = render(measured_throughput_table())
    if args.check:
        current = (
            MEASURED_THROUGHPUT.read_text(encoding="utf-8")
            if MEASURED_THROUGHPUT.is_file()
            else ""
        )
        if current != text:
            print(f"{MEASURED_THROUGHPUT} is out of date: run {sys.argv[0]}")
            return 1
        print(f"{MEASURED_THROUGHPUT} is up to date")
        return 0
    MEASURED_THROUGHPUT.parent.mkdir(parents=True, exist_ok=True)
    MEASURED_THROUGHPUT.write_text(text, encoding="utf-8")
    print(f"wrote {MEASURED_THROUGHPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
