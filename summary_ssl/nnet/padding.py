"""Padding masks and masked statistics, in one convention: True = padding.

SpeechBrain passes relative lengths in (0, 1]; the modules here take
absolute lengths (frames or samples), which the front ends compute exactly.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
from speechbrain.dataio.dataio import length_to_mask


def padding_mask(lengths, max_len):
    """(B, max_len) boolean mask, True = padding (SpeechBrain convention).

    Arguments
    ---------
    lengths : torch.Tensor
        (B,) absolute lengths.
    max_len : int
        Padded length.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> padding_mask(torch.tensor([3, 1]), 4)
    tensor([[False, False, False,  True],
            [False,  True,  True,  True]])
    """
    return ~length_to_mask(lengths, max_len, dtype=torch.bool)


def masked_normalize(x, lengths, dim, eps=1e-5):
    """Zero-mean unit-variance over the real steps of ``dim`` (per
    utterance); padded steps come out as zero.

    Arguments
    ---------
    x : torch.Tensor
        (B, T) or (B, T, F) with time on ``dim=1``.
    lengths : torch.Tensor
        (B,) absolute lengths along time.
    dim : tuple of int
        Dimensions to pool statistics over (time, and features if wanted).
    eps : float
        Variance floor.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> x = torch.tensor([[1.0, 3.0, 100.0]])
    >>> masked_normalize(x, torch.tensor([2]), dim=(1,))
    tensor([[-1.0000,  1.0000,  0.0000]])
    """
    valid = ~padding_mask(lengths, x.shape[1])
    valid = valid.view(*valid.shape, *([1] * (x.dim() - 2))).to(x.dtype)
    count = (valid.expand_as(x)).sum(dim=dim, keepdim=True).clamp_min(1.0)
    mean = (x * valid).sum(dim=dim, keepdim=True) / count
    var = (((x - mean) * valid) ** 2).sum(dim=dim, keepdim=True) / count
    return (x - mean) / torch.sqrt(var + eps) * valid


def zero_padding(x, padding):
    """``x`` (B, T, D) with its padded frames (``padding`` (B, T), True =
    padding) set to zero; ``x`` itself when ``padding`` is None.

    Example
    -------
    >>> padding = torch.tensor([[False, False, True]])
    >>> zero_padding(torch.ones(1, 3, 2), padding)[0, :, 0]
    tensor([1., 1., 0.])
    """
    if padding is None:
        return x
    return x.masked_fill(padding.unsqueeze(-1), 0.0)


def abs_lengths(lengths, max_len):
    """Absolute frame counts from relative lengths.

    Arguments
    ---------
    lengths : torch.Tensor
        (B,) relative lengths in (0, 1].
    max_len : int
        Padded length.

    Returns
    -------
    torch.Tensor
        (B,) long, at least 1.

    Example
    -------
    >>> abs_lengths(torch.tensor([1.0, 0.5, 0.01]), 10).tolist()
    [10, 5, 1]
    """
    return torch.round(lengths * max_len).long().clamp(1, max_len)


def masked_mean(x, lengths):
    """Mean over each utterance's real frames.

    Arguments
    ---------
    x : torch.Tensor
        (B, T, D)
    lengths : torch.Tensor
        (B,) relative lengths.

    Returns
    -------
    torch.Tensor
        (B, D)

    Example
    -------
    >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> masked_mean(x, torch.tensor([2 / 3]))
    tensor([[2.]])
    """
    frames = abs_lengths(lengths, x.shape[1])
    valid = ~padding_mask(frames, x.shape[1])  # True = real frame
    summed = (x * valid.unsqueeze(-1).to(x.dtype)).sum(dim=1)
    return summed / frames.unsqueeze(-1).to(x.dtype)
