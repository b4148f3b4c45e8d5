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

from summary_ssl.dataio.shards import load_row_audio

logger = logging.getLogger(__name__)

#: The id of the one utterance of a placeholder batch.
PLACEHOLDER_ID = "<no readable audio>"
#: The id of a placeholder that a rank runs while the other ranks finish
#: their epoch (streamed shards: :mod:`summary_ssl.dataio.shard_stream`).
EPOCH_PADDING_ID = "<epoch padding>"


def load_audio_or_empty(path, sample_rate=16000, spans=None):
    """The audio of a prepared row, or an empty tensor (and a warning) if
    it fails.

    Arguments
    ---------
    path : str
        Audio file.
    sample_rate : int
        Rate to return.
    spans : str, optional
        A Libri-Light row's ``spans`` (read only those; see
        :func:`~summary_ssl.dataio.shards.load_row_audio`).

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
        return load_row_audio(path, spans, sample_rate=sample_rate)
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


def placeholder_batch(num_samples=16000, utt_id=PLACEHOLDER_ID):
    """A batch of one silent utterance that stands in for an unreadable one
    (or, with ``utt_id=EPOCH_PADDING_ID``, for no batch at all).

    Arguments
    ---------
    num_samples : int
        Its length in samples.
    utt_id : str
        :data:`PLACEHOLDER_ID` or :data:`EPOCH_PADDING_ID`.

    Returns
    -------
    speechbrain.dataio.batch.PaddedBatch
    """
    silence = torch.zeros(num_samples)
    return PaddedBatch([{"id": utt_id, "sig": silence}])


def is_placeholder(batch):
    """Whether ``batch`` is a placeholder for a batch with no readable audio.

    Arguments
    ---------
    batch : speechbrain.dataio.batch.PaddedBatch

    Returns
    -------
    bool

    Example
    -------
    >>> is_placeholder(placeholder_batch(utt_id=EPOCH_PADDING_ID))
    True
    """
    return list(batch.id) in ([PLACEHOLDER_ID], [EPOCH_PADDING_ID])


def is_epoch_padding(batch):
    """Whether ``batch`` pads a rank's epoch while others finish theirs.

    Example
    -------
    >>> is_epoch_padding(placeholder_batch())
    False
    """
    return list(batch.id) == [EPOCH_PADDING_ID]
