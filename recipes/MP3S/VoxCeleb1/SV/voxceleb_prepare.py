#!/usr/bin/env python3
"""Prepares VoxCeleb1 for the MP3S speaker verification probes (see
summary_ssl.dataio.voxceleb).

Usage::

    python voxceleb_prepare.py /path/to/VoxCeleb1 results/voxceleb_csv

Authors
 * summary_ssl contributors 2026
"""

import argparse

from summary_ssl.dataio.voxceleb import prepare_voxceleb

__all__ = ["prepare_voxceleb"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_folder", help="VoxCeleb1 root (wav/, trials)")
    parser.add_argument("save_folder", help="where the CSV files go")
    args = parser.parse_args()
    print(prepare_voxceleb(args.data_folder, args.save_folder))
