"""Absolute sinusoidal positions (Vaswani et al. 2017, Sec. 3.5).

SpeechBrain's ``PositionalEncoding`` (which its and the SummaryMixing SSL
paper's wav2vec 2.0 ``EncoderWrapper`` add before the encoder) stores a
``(max_len, d)`` table as a persistent buffer: 10 MB in every checkpoint at
d = 768, and an utterance longer than ``max_len`` frames fails with a shape
error. This module gives the same values for any length, computed on the
input's device at each call (T x d/2 sines and cosines: negligible next to
one encoder layer, and nothing for ``torch.compile`` to guard on), with
nothing in the state dict.

Authors
-------
* summary_ssl contributors 2026
"""

import math

import torch
import torch.nn as nn

from summary_ssl.utils.config import records_init


class SinusoidalPositions(nn.Module):
    """``PE(t, 2i) = sin(t / 10000^(2i/d))``, ``PE(t, 2i+1) = cos(...)``.

    Arguments
    ---------
    d_model : int
        Embedding size (even).

    Example
    -------
    >>> pos = SinusoidalPositions(8)
    >>> pos(torch.zeros(2, 5, 8)).shape  # broadcast over the batch
    torch.Size([1, 5, 8])
    >>> pos(torch.zeros(1, 2, 8))[0, 1, :2]  # sin(1), cos(1)
    tensor([0.8415, 0.5403])
    >>> len(pos.state_dict())
    0
    """

    @records_init
    def __init__(self, d_model):
        super().__init__()
        if d_model % 2:
            raise ValueError(f"d_model must be even, got {d_model}")
        self.d_model = d_model

    def forward(self, x):
        """(1, T, d_model) positions for ``x`` of shape (B, T, d_model)."""
        positions = torch.arange(x.shape[1], device=x.device).float()
        inv_freq = torch.exp(
            torch.arange(0, self.d_model, 2, device=x.device).float()
            * (-math.log(10000.0) / self.d_model)
        )
        angles = positions[:, None] * inv_freq[None, :]
        # interleaved: sin, cos, sin, cos, ... as in SpeechBrain's table
        table = torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)
        return table.unsqueeze(0).to(x.dtype)
