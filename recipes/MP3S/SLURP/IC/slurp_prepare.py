#!/usr/bin/env python3
"""Prepares SLURP for the MP3S probes (see summary_ssl.dataio.slurp).

Usage::

    python slurp_prepare.py /path/to/SLURP results/slurp_csv

Every keyword of ``prepare_slurp`` is an option (``--help`` lists them).

Authors
 * summary_ssl contributors 2026
"""

from summary_ssl.dataio.prepare_cli import run_preparation_cli
from summary_ssl.dataio.slurp import prepare_slurp

__all__ = ["prepare_slurp"]

if __name__ == "__main__":
    run_preparation_cli(prepare_slurp, __doc__)
