"""Rotary position embeddings (Su et al. 2021, RoFormer, Eq. 34).

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn


class RotaryEmbedding(nn.Module):
    """Rotates query/key channel pairs by a position-dependent angle.

    Channel ``i`` is paired with channel ``i + head_dim / 2`` (the
    "rotate-half" layout) and rotated by ``t * base ** (-2i / head_dim)``
    at position ``t``. Positions count from the first frame, so right
    padding does not change the real frames' rotations.

    Arguments
    ---------
    head_dim : int
        Channels per head; must be even.
    base : float
        Frequency base.

    Example
    -------
    >>> rope = RotaryEmbedding(head_dim=8)
    >>> q = torch.rand(2, 4, 10, 8)  # (batch, heads, time, head_dim)
    >>> rope(q).shape
    torch.Size([2, 4, 10, 8])
    >>> torch.allclose(rope(q).norm(dim=-1), q.norm(dim=-1), atol=1e-5)
    True
    """

    def __init__(self, head_dim, base=10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary needs an even head_dim, got {head_dim}")
        inv_freq = base ** (
            -torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim
        )
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x):
        """Applies the rotation along the time axis (dim -2).

        Arguments
        ---------
        x : torch.Tensor
            (..., T, head_dim)

        Returns
        -------
        torch.Tensor
            Same shape and dtype as ``x``.
        """
        T = x.shape[-2]
        t = torch.arange(T, device=x.device, dtype=torch.float32)
        angles = torch.outer(t, self.inv_freq)  # (T, head_dim / 2)
        cos = angles.cos().to(x.dtype)
        sin = angles.sin().to(x.dtype)
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)
