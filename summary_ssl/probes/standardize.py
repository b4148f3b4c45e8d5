"""Training-set statistics for the per-layer standardisation of probe inputs.

:class:`~summary_ssl.pretrained.WeightedLayerSum` can standardise each
frozen layer per dimension before mixing. Its statistics come from the
training set: :class:`LayerStatistics` accumulates them batch by batch,
either over the real frames (``"frame"``) or over each utterance's
mean-pooled features (``"utterance"``, what a mean-pooling linear probe
sees). Under DDP the sums are all-reduced, so every process gets the same
statistics.

Why: frozen layers can sit on large offsets and at very different scales.
A linear probe trained by Adam on such inputs is badly conditioned, and
the softmax layer weights then pick the loudest layer rather than the most
useful one. Standardising with fixed training-set statistics is an affine
change of each layer: it removes both problems and loses nothing.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.distributed as dist

from summary_ssl.probes.heads import abs_lengths


class LayerStatistics:
    """Per-layer, per-dimension mean and standard deviation.

    Arguments
    ---------
    level : str
        ``"frame"`` (every real frame counts once) or ``"utterance"``
        (every utterance's mean over its real frames counts once).

    Example
    -------
    >>> stats = LayerStatistics("utterance")
    >>> hidden = torch.tensor([[[[1.0], [3.0]], [[5.0], [0.0]]]])  # (1,2,2,1)
    >>> stats.update(hidden, torch.tensor([1.0, 0.5]))  # means 2 and 5
    >>> mean, std = stats.result()
    >>> mean.tolist(), std.tolist()
    ([[3.5]], [[1.5]])
    >>> frames = LayerStatistics("frame")
    >>> frames.update(hidden, torch.tensor([1.0, 0.5]))  # frames 1, 3, 5
    >>> frames.result()[0].tolist(), frames.count
    ([[3.0]], 3)
    """

    def __init__(self, level="frame"):
        if level not in ("frame", "utterance"):
            raise ValueError(f"level must be frame or utterance, not {level}")
        self.level = level
        self.sum = None
        self.sum_sq = None
        self.count = 0

    def update(self, hidden_states, lengths):
        """Adds a batch.

        Arguments
        ---------
        hidden_states : torch.Tensor
            (L, B, T, D) layers.
        lengths : torch.Tensor
            (B,) relative lengths in frames.
        """
        x = hidden_states.detach().double()
        T = x.shape[2]
        frames = abs_lengths(lengths, T).to(x.device)
        real = torch.arange(T, device=x.device)[None, :] < frames[:, None]
        real = real[None, :, :, None].to(x.dtype)  # (1, B, T, 1)
        if self.level == "frame":
            values_sum = (x * real).sum(dim=(1, 2))
            squares_sum = (x * x * real).sum(dim=(1, 2))
            count = int(frames.sum())
        else:
            pooled = (x * real).sum(dim=2) / frames[None, :, None]
            values_sum = pooled.sum(dim=1)
            squares_sum = (pooled * pooled).sum(dim=1)
            count = x.shape[1]
        if self.sum is None:
            self.sum, self.sum_sq = values_sum, squares_sum
        else:
            self.sum += values_sum
            self.sum_sq += squares_sum
        self.count += count

    def all_reduce(self):
        """Sums the statistics of every DDP process (no-op otherwise)."""
        if not (dist.is_available() and dist.is_initialized()):
            return
        count = torch.tensor(
            [float(self.count)], dtype=torch.float64, device=self.sum.device
        )
        for tensor in (self.sum, self.sum_sq, count):
            dist.all_reduce(tensor)
        self.count = int(count.item())

    def result(self):
        """(mean, std), each (L, D) float32."""
        if self.count == 0:
            raise ValueError("no statistics: no frame was seen")
        mean = self.sum / self.count
        var = (self.sum_sq / self.count - mean * mean).clamp_min(0.0)
        return mean.float(), var.sqrt().float()
