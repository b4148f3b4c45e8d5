#!/usr/bin/env python3
"""Prepares VoxCeleb1 for the MP3S speaker verification probes (see
summary_ssl.dataio.voxceleb).

Usage::

    python voxceleb_prepare.py /path/to/VoxCeleb1 results/voxceleb_csv

Every keyword of ``prepare_voxceleb`` is an option (``--help`` lists
them).

Authors
 * summary_ssl contributors 2026
"""

from summary_ssl.dataio.prepare_cli import run_preparation_cli
from summary_ssl.dataio.voxceleb import prepare_voxceleb

__all__ = ["prepare_voxceleb"]

if __name__ == "__main__":
    run_preparation_cli(prepare_voxceleb, __doc__)
