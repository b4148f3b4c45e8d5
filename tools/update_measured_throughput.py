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
import json
import sys

from summary_ssl.budget.throughput import (
    MEASURED_THROUGHPUT,
    measured_throughput_table,
)


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
