#!/usr/bin/env python3
"""Prepares LibriSpeech for the MP3S ASR probes (see
summary_ssl.dataio.librispeech).

Usage::

    python librispeech_prepare.py /path/to/LibriSpeech results/ls_csv

Authors
 * summary_ssl contributors 2026
"""

import argparse

from summary_ssl.dataio.librispeech import prepare_librispeech

__all__ = ["prepare_librispeech"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_folder", help="holds train-clean-100/ etc.")
    parser.add_argument("save_folder", help="where the CSV files go")
    args = parser.parse_args()
    print(prepare_librispeech(args.data_folder, args.save_folder))
