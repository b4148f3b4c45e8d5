"""Batches that survive audio files going bad after data preparation.

Preparation checks each file, but a file truncated or deleted afterwards
would otherwise crash a run in the middle of an epoch. Here such a file is
dropped from its batch with a logged warning, and the run goes on.

A batch in which no file is readable becomes a *placeholder*: one second
of silence under the id :data:`PLACEHOLDER_ID`. The Brain runs it like any
batch but with its loss multiplied by zero, so every DDP rank still takes
part in every collective (the all-reduces of the finite check and of the
gradients) and the gradient-accumulation cycle stays aligned with the
optimizer steps; it contributes nothing to the gradients or statistics.

Authors
-------
* summary_ssl contributors 2026
"""

import logging

import torch
from speechbrain.dataio.batch import PaddedBatch

from summary_ssl.dataio.audio_checks import load_audio

logger = logging.getLogger(__name__)

#: The id of the one utterance of a placeholder batch.
PLACEHOLDER_ID = "<no readable audio>"


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
    speechbrain.dataio.batch.PaddedBatch
        A placeholder batch (see :func:`is_placeholder`) when no example
        of the batch was readable.

    Example
    -------
    >>> batch = collate_readable([
    ...     {"id": "a", "sig": torch.ones(5)},
    ...     {"id": "b", "sig": torch.zeros(0)},
    ... ])
    >>> batch.id, is_placeholder(batch)
    (['a'], False)
    >>> is_placeholder(collate_readable([{"id": "b", "sig": torch.zeros(0)}]))
    True
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
        logger.warning("No readable audio in a batch: it becomes a placeholder")
        return placeholder_batch()
    return PaddedBatch(readable)


def placeholder_batch(num_samples=16000):
    """A batch of one silent utterance that stands in for an unreadable one.

    Arguments
    ---------
    num_samples : int
        Its length in samples.

    Returns
    -------
    speechbrain.dataio.batch.PaddedBatch
    """
    silence = torch.zeros(num_samples)
    return PaddedBatch([{"id": PLACEHOLDER_ID, "sig": silence}])


def is_placeholder(batch):
    """Whether ``batch`` is a placeholder for a batch with no readable audio.

    Arguments
    ---------
    batch : speechbrain.dataio.batch.PaddedBatch

    Returns
    -------
    bool
    """
    return list(batch.id) == [PLACEHOLDER_ID]
