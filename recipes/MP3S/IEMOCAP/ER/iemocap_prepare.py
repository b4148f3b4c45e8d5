#!/usr/bin/env python3
"""Prepares one IEMOCAP leave-one-session-out fold for the MP3S probes
(see summary_ssl.dataio.iemocap).

Usage::

    python iemocap_prepare.py /path/to/IEMOCAP results/iemocap_fold5 5

The third argument is the test session (default 5); every other keyword
of ``prepare_iemocap`` is an option (``--test_speaker 3`` for MP3S's
leave-one-speaker-out fold; ``--help`` lists them).

Authors
 * summary_ssl contributors 2026
"""

from summary_ssl.dataio.iemocap import prepare_iemocap
from summary_ssl.dataio.prepare_cli import run_preparation_cli

__all__ = ["prepare_iemocap"]

if __name__ == "__main__":
    run_preparation_cli(
        prepare_iemocap,
        __doc__,
        positional=("data_folder", "save_folder", "test_session"),
    )
