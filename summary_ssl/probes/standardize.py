"""Training-set statistics for the per-layer standardisation of probe inputs.

:class:`~summary_ssl.pretrained.WeightedLayerSum` can standardise each
frozen layer per dimension before mixing. Its statistics come from the
training set: :class:`LayerStatistics` accumulates them batch by batch,
either over the real frames (``"frame"``) or over each utterance's
mean-pooled features (``"utterance"``, what a mean-pooling linear probe
sees). Under DDP the sums are all-reduced, so every process gets the same
statistics.

Why: frozen layers can sit on large offsets and at very different scales,
and their dimensions are strongly correlated. A linear probe trained by
Adam on such inputs is badly conditioned, and the softmax layer weights
then pick the loudest layer rather than the most useful one.
Standardising (and, for linear probes, whitening: :func:`whitening`) with
fixed training-set statistics is an affine change of each layer: it
removes both problems and loses nothing.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.distributed as dist

from summary_ssl.nnet.padding import abs_lengths


class LayerStatistics:
    """Per-layer, per-dimension mean and standard deviation.

    Arguments
    ---------
    level : str
        ``"frame"`` (every real frame counts once) or ``"utterance"``
        (every utterance's mean over its real frames counts once).
    covariance : bool
        Also accumulate each layer's full second moment (for
        :func:`whitening`; ``L * D * D`` values).

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

    def __init__(self, level="frame", covariance=False):
        if level not in ("frame", "utterance"):
            raise ValueError(f"level must be frame or utterance, not {level}")
        self.level = level
        self.covariance = covariance
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
            values = x * real  # (L, B, T, D), zero on padding
            values_sum = values.sum(dim=(1, 2))
            count = int(frames.sum())
            if self.covariance:
                squares_sum = torch.einsum("lbtd,lbte->lde", values, values)
            else:
                squares_sum = (values * values).sum(dim=(1, 2))
        else:
            pooled = (x * real).sum(dim=2) / frames[None, :, None]
            values_sum = pooled.sum(dim=1)
            count = x.shape[1]
            if self.covariance:
                squares_sum = torch.einsum("lbd,lbe->lde", pooled, pooled)
            else:
                squares_sum = (pooled * pooled).sum(dim=1)
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

    def result(self, shrinkage=None):
        """The statistics.

        Arguments
        ---------
        shrinkage : float, optional
            With ``covariance``: also return the whitening transforms
            (:func:`whitening`) with this shrinkage.

        Returns
        -------
        mean, std : torch.Tensor
            (L, D) float32.
        transform : torch.Tensor
            (L, D, D) float32, only when ``shrinkage`` is given.
        """
        if self.count == 0:
            raise ValueError("no statistics: no frame was seen")
        mean = self.sum / self.count
        if self.covariance:
            cov = self.sum_sq / self.count - mean[:, :, None] * mean[:, None]
            var = torch.diagonal(cov, dim1=1, dim2=2).clamp_min(0.0)
        else:
            var = (self.sum_sq / self.count - mean * mean).clamp_min(0.0)
        std = var.sqrt()
        if shrinkage is None:
            return mean.float(), std.float()
        if not self.covariance:
            raise ValueError("whitening needs covariance=True")
        return mean.float(), std.float(), whitening(cov, std, shrinkage)


def whitening(cov, std, shrinkage=0.01, min_std=1e-5):
    """ZCA whitening transforms of standardised features, with shrinkage.

    For each layer, ``C`` is the correlation matrix (the covariance of the
    features divided by their standard deviations), ``C = V diag(e) V^T``;
    the transform is ``diag(1 / std) V diag(e + shrinkage)^-1/2 V^T``
    (the mean eigenvalue of a correlation matrix is 1, so ``shrinkage``
    is relative to it). Applied to ``x - mean`` (a row), it gives features
    with identity covariance but in the near-empty directions, which it
    amplifies by at most ``shrinkage ** -0.5``.

    Arguments
    ---------
    cov : torch.Tensor
        (L, D, D) covariances.
    std : torch.Tensor
        (L, D) standard deviations (their diagonals' square roots).
    shrinkage : float
        Added to every eigenvalue of the correlation matrix.
    min_std : float
        Floor of ``std``.

    Returns
    -------
    torch.Tensor
        (L, D, D) float32.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(5000, 3, generator=g) @ torch.tensor(
    ...     [[3.0, 0.0, 0.0], [2.9, 0.5, 0.0], [0.0, 0.0, 0.1]])
    >>> cov = torch.cov(x.T)[None].double()
    >>> A = whitening(cov, cov.diagonal(dim1=1, dim2=2).sqrt(), 1e-6)
    >>> y = (x - x.mean(0)) @ A[0]
    >>> torch.allclose(torch.cov(y.T), torch.eye(3), atol=1e-2)
    True
    """
    std = std.clamp_min(min_std)
    corr = cov / (std[:, :, None] * std[:, None, :])
    eigvals, eigvecs = torch.linalg.eigh(corr.double())
    scale = (eigvals.clamp_min(0.0) + shrinkage).rsqrt()
    zca = eigvecs @ torch.diag_embed(scale) @ eigvecs.transpose(1, 2)
    return (zca / std[:, :, None].double()).float()
