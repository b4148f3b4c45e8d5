#!/usr/bin/env python3
"""Prepares one IEMOCAP leave-one-session-out fold for the MP3S probes
(see summary_ssl.dataio.iemocap).

Usage::

    python iemocap_prepare.py /path/to/IEMOCAP results/iemocap_fold5 5

Authors
 * summary_ssl contributors 2026
"""

import argparse

from summary_ssl.dataio.iemocap import prepare_iemocap

__all__ = ["prepare_iemocap"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_folder", help="IEMOCAP_full_release or above")
    parser.add_argument("save_folder", help="where the CSV files go")
    parser.add_argument("test_session", type=int, nargs="?", default=5)
    args = parser.parse_args()
    print(
        prepare_iemocap(
            args.data_folder, args.save_folder, test_session=args.test_session
        )
    )
