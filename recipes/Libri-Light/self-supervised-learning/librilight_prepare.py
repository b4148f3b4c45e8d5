#!/usr/bin/env python3
"""Prepares Libri-Light for pretraining: pieces cut by VAD, no audio copy
(see summary_ssl.dataio.librilight; train.py calls the same function).

Usage::

    python librilight_prepare.py /path/to/LibriLight results/ll_csv \\
        --subsets medium --target_len_sec 20 --min_duration 10 \\
        --max_duration 20.2 --workers 16

Run it once in a single process before a multi-GPU run (preparing
medium takes CPU-hours; every rank of a torchrun job would otherwise wait
for rank 0), then shard its ``train.csv`` with
``python -m summary_ssl.dataio.shards``. See README.md, "Scale".

Authors
 * summary_ssl contributors 2026
"""

import argparse
import logging

from summary_ssl.dataio.librilight import prepare_librilight

__all__ = ["prepare_librilight"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_folder", help="holds small/, medium/, large/")
    parser.add_argument("save_folder", help="where train.csv goes")
    parser.add_argument("--subsets", nargs="+", default=["medium"])
    parser.add_argument("--target_len_sec", type=float, default=20.0)
    parser.add_argument("--min_duration", type=float, default=10.0)
    parser.add_argument("--max_duration", type=float, default=20.2)
    parser.add_argument(
        "--no_decode",
        action="store_true",
        help="read headers only (default, as the recipes' decode_check: "
        "decode every file once, about 2 s of CPU per hour of audio)",
    )
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(
        prepare_librilight(
            args.data_folder,
            args.save_folder,
            subsets=args.subsets,
            target_len_sec=args.target_len_sec,
            min_duration=args.min_duration,
            max_duration=args.max_duration,
            decode=not args.no_decode,
            workers=args.workers,
        )
    )
