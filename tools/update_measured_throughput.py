"""Regenerates the measured throughput the budget planner ships with.

    python tools/update_measured_throughput.py [--check]

reads the benchmark output of this checkout (``benchmarks/gpu_runs/*.json``,
``benchmarks/*.json`` and the step tables of ``benchmarks/RESULTS.md``),
probes the planner's FLOPs of each measured model, and writes
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


def benchmark_sources(bench=None):
    """The benchmark output of a checkout: ``gpu_runs/*.json``, ``*.json``,
    then ``RESULTS.md`` (its tables of the same runs are read once: see
    :func:`load_measurements`).

    Arguments
    ---------
    bench : str or Path, optional
        The ``benchmarks`` folder (default: this checkout's).

    Returns
    -------
    list of Path
    """
    bench = Path(bench) if bench is not None else BENCH
    paths = sorted(bench.glob("gpu_runs/*.json")) + sorted(bench.glob("*.json"))
    paths += [bench / "RESULTS.md"]
    return [p for p in paths if p.is_file()]


def measured_throughput_table(bench=None):
    """The content of :data:`MEASURED_THROUGHPUT`: every GPU cell of the
    benchmark output of a checkout (:func:`benchmark_sources`), with its
    source relative to the repository and the planner's FLOPs per
    audio-second of its model (:func:`planner_flops`, probed here, where
    the recipe YAMLs are).

    :func:`main` writes it; a test checks that
    the shipped file equals it.

    Arguments
    ---------
    bench : str or Path, optional
        The ``benchmarks`` folder (default: this checkout's).

    Returns
    -------
    dict
        ``about``, ``sources`` (relative paths) and ``measurements`` (one
        dictionary of :class:`Measurement` fields per cell).
    """
    bench = Path(bench) if bench is not None else BENCH
    root = bench.resolve().parent
    paths = benchmark_sources(bench)
    cells = []
    for cell in load_measurements(paths):
        cell.planner_flops = planner_flops(cell)
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
