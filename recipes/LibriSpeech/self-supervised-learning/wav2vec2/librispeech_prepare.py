#!/usr/bin/env python3
"""Prepares LibriSpeech for pretraining and for the MP3S ASR probes (see
summary_ssl.dataio.librispeech; both recipes' train.py call the same
function, and recipes/MP3S/LibriSpeech/ASR/ links to this file).

Usage::

    python librispeech_prepare.py /path/to/LibriSpeech results/ls_csv \\
        train-clean-100 dev-clean   # no splits: every split

Authors
 * summary_ssl contributors 2026
"""

import argparse

from summary_ssl.dataio.librispeech import SPLITS, prepare_librispeech

__all__ = ["prepare_librispeech"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_folder", help="holds train-clean-100/ etc.")
    parser.add_argument("save_folder", help="where the CSV files go")
    parser.add_argument(
        "splits", nargs="*", help="splits to prepare (default: all)"
    )
    args = parser.parse_args()
    splits = args.splits or SPLITS
    print(prepare_librispeech(args.data_folder, args.save_folder, splits))
