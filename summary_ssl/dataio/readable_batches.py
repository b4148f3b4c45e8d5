"""Batches that survive audio files going bad after data preparation.

Preparation reads each file's header (and optionally decodes it), so a
file truncated or deleted afterwards would otherwise crash a run in the
middle of an epoch. Here such a file is dropped from its batch with a
logged warning, and the run goes on.

Authors
-------
* summary_ssl contributors 2026
"""

import logging

import torch
from speechbrain.dataio.batch import PaddedBatch

from summary_ssl.dataio.audio_checks import load_audio

logger = logging.getLogger(__name__)


def load_audio_or_empty(path, sample_rate=16000):
    """``load_audio``, or an empty tensor (and a warning) if it fails.

    Arguments
    ---------
    path : str
        Audio file.
    sample_rate : int
        Rate to return.

    Returns
    -------
    torch.Tensor
        (N,) float32; N = 0 when the file could not be read.

    Example
    -------
    >>> load_audio_or_empty("/no/such/file.flac").shape
    torch.Size([0])
    """
    try:
        return load_audio(path, sample_rate=sample_rate)
    except Exception as error:  # any reader failure: drop, never crash
        logger.warning("Skipping unreadable audio %s: %s", path, error)
        return torch.zeros(0)


def collate_readable(examples):
    """``PaddedBatch`` of the examples whose ``sig`` is not empty.

    Arguments
    ---------
    examples : list of dict
        Examples with ``id`` and ``sig``.

    Returns
    -------
    speechbrain.dataio.batch.PaddedBatch or None
        None when no example of the batch was readable.

    Example
    -------
    >>> batch = collate_readable([
    ...     {"id": "a", "sig": torch.ones(5)},
    ...     {"id": "b", "sig": torch.zeros(0)},
    ... ])
    >>> batch.id
    ['a']
    """
    readable = [ex for ex in examples if ex["sig"].numel() > 0]
    if len(readable) < len(examples):
        dropped = [ex["id"] for ex in examples if ex["sig"].numel() == 0]
        logger.warning(
            "Dropped %d unreadable utterance(s) from a batch: %s",
            len(dropped),
            ", ".join(dropped),
        )
    if not readable:
        return None  # the Brain skips it (see W2V2Brain.fit_batch)
    return PaddedBatch(readable)
