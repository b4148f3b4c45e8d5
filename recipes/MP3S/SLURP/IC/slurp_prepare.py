#!/usr/bin/env python3
"""Prepares SLURP for the MP3S probes (see summary_ssl.dataio.slurp).

Usage::

    python slurp_prepare.py /path/to/SLURP results/slurp_csv

Authors
 * summary_ssl contributors 2026
"""

import argparse

from summary_ssl.dataio.slurp import prepare_slurp

__all__ = ["prepare_slurp"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_folder", help="SLURP root (slurp/, slurp_real/)")
    parser.add_argument("save_folder", help="where the CSV files go")
    args = parser.parse_args()
    print(prepare_slurp(args.data_folder, args.save_folder))
