#!/usr/bin/env python3
"""Prepares LibriSpeech for pretraining and for the MP3S ASR probes (see
summary_ssl.dataio.librispeech; both recipes' train.py call the same
function, and recipes/MP3S/LibriSpeech/ASR/ links to this file).

Usage::

    python librispeech_prepare.py /path/to/LibriSpeech results/ls_csv \\
        train-clean-100 dev-clean   # no splits: every split

Every other keyword of ``prepare_librispeech`` is an option (``--help``
lists them).

Authors
 * summary_ssl contributors 2026
"""

from summary_ssl.dataio.librispeech import prepare_librispeech
from summary_ssl.dataio.prepare_cli import run_preparation_cli

__all__ = ["prepare_librispeech"]

if __name__ == "__main__":
    run_preparation_cli(
        prepare_librispeech,
        __doc__,
        positional=("data_folder", "save_folder", "splits"),
    )
