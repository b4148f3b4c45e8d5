"""Block-diagonal (per-head) linear layer.

SummaryMixing splits its local and summary projections into ``nhead``
independent blocks (Parcollet et al. 2023, Sec. 3): head ``g`` only sees
the ``g``-th slice of the input features and writes the ``g``-th slice of
the output. This is a linear layer whose weight is block-diagonal.

Authors
-------
* summary_ssl contributors 2026
"""

import math

import torch
import torch.nn as nn


class GroupedLinear(nn.Module):
    """A linear layer with a block-diagonal weight of ``groups`` blocks.

    With ``groups=1`` it is exactly :class:`torch.nn.Linear`. Otherwise the
    input is split into ``groups`` equal slices, each slice goes through its
    own ``in_features // groups -> out_features // groups`` weight, and the
    outputs are concatenated in the same group order. It is computed as one
    batched matrix product, never as a dense block-diagonal matrix.

    Arguments
    ---------
    in_features : int
        Size of the last input dimension.
    out_features : int
        Size of the last output dimension.
    groups : int
        Number of diagonal blocks; must divide both sizes.
    bias : bool
        Whether to add a learned bias (initialised to zero).

    Example
    -------
    >>> layer = GroupedLinear(8, 12, groups=4)
    >>> layer(torch.rand(2, 5, 8)).shape
    torch.Size([2, 5, 12])
    >>> layer.dense_weight().shape  # (out, in), block-diagonal
    torch.Size([12, 8])
    """

    def __init__(self, in_features, out_features, groups=1, bias=True):
        super().__init__()
        if groups < 1:
            raise ValueError(f"groups must be >= 1, got {groups}")
        if in_features % groups or out_features % groups:
            raise ValueError(
                f"groups={groups} must divide in_features={in_features} "
                f"and out_features={out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        self.groups = groups
        in_g, out_g = in_features // groups, out_features // groups
        # (groups, in_g, out_g): x_g @ weight[g] gives group g's output.
        self.weight = nn.Parameter(torch.empty(groups, in_g, out_g))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        # Same scale as nn.Linear's default for one block of fan-in in_g.
        bound = 1.0 / math.sqrt(in_g)
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, x):
        """Applies the block-diagonal projection.

        Arguments
        ---------
        x : torch.Tensor
            (..., in_features)

        Returns
        -------
        torch.Tensor
            (..., out_features)
        """
        if self.groups == 1:
            return nn.functional.linear(x, self.weight[0].t(), self.bias)
        lead = x.shape[:-1]
        # (N, G, in_g) -> (G, N, in_g) @ (G, in_g, out_g) -> (G, N, out_g)
        xg = x.reshape(-1, self.groups, self.in_features // self.groups)
        y = torch.bmm(xg.transpose(0, 1), self.weight.to(x.dtype))
        y = y.transpose(0, 1).reshape(*lead, self.out_features)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y

    def dense_weight(self):
        """Returns the equivalent dense (out_features, in_features) weight.

        Returns
        -------
        torch.Tensor
            The block-diagonal matrix ``W`` with ``y = x @ W.T + b``.
        """
        return torch.block_diag(*[w.t() for w in self.weight])

    def extra_repr(self):
        """Shows sizes and groups when the module is printed."""
        return (
            f"in_features={self.in_features}, "
            f"out_features={self.out_features}, groups={self.groups}, "
            f"bias={self.bias is not None}"
        )
