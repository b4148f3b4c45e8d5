#!/usr/bin/env python3
"""Prepares Libri-Light for pretraining: pieces cut by VAD, no audio copy
(see summary_ssl.dataio.librilight; train.py calls the same function).

Usage::

    python librilight_prepare.py /path/to/LibriLight results/ll_csv \\
        --subsets medium --target_len_sec 20 --min_duration 10 \\
        --max_duration 20.2 --workers 16

Every keyword of ``prepare_librilight`` is an option (``--help`` lists
them). The defaults are the usage above's, with 4 workers and
``--decode``: every file decoded once, as the recipes' decode_check
(about 2 s of CPU per hour of audio); ``--no_decode`` reads headers only.

Run it once in a single process before a multi-GPU run (preparing
medium takes CPU-hours; every rank of a torchrun job would otherwise wait
for rank 0), then shard its ``train.csv`` with
``python -m summary_ssl.dataio.shards``. See README.md, "Scale".

Authors
 * summary_ssl contributors 2026
"""

from summary_ssl.dataio.librilight import prepare_librilight
from summary_ssl.dataio.prepare_cli import run_preparation_cli

__all__ = ["prepare_librilight"]

if __name__ == "__main__":
    run_preparation_cli(
        prepare_librilight,
        __doc__,
        defaults=dict(
            subsets=["medium"],
            min_duration=10.0,
            max_duration=20.2,
            decode=True,
            workers=4,
        ),
    )
