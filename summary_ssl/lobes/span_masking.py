"""Span masking and negative sampling for wav2vec 2.0 (Baevski et al.
2020, Sec. 3.1 and 3.2), both padding-aware.

SpeechBrain's ``compute_mask`` gives every utterance the number of spans
of the shortest one in the batch, and its ``sample_negatives`` draws from
the padded frames too. Here each utterance gets its own number of spans,
spans and negatives stay inside its real frames, and a negative is never
the positive itself.

Authors
-------
* summary_ssl contributors 2026
"""

import torch


def compute_span_mask(
    frame_lengths, max_len, mask_prob=0.65, mask_length=10, min_masks=2
):
    """Samples masked spans per utterance, inside its real frames.

    Each utterance of ``n`` frames gets ``floor(mask_prob * n / mask_length
    + u)`` span starts (``u ~ U[0, 1)``, at least ``min_masks``), drawn
    uniformly in ``[0, n - mask_length]``; spans may overlap (as in
    fairseq), so about ``mask_prob`` of long utterances' frames end up
    masked before overlaps. Uses the global torch RNG (CPU), so it is
    reproduced when a checkpoint restores the RNG state.

    Arguments
    ---------
    frame_lengths : torch.Tensor
        (B,) real frames per utterance (CPU, integer).
    max_len : int
        Padded number of frames.
    mask_prob : float
        Probability of each frame being a span start, times ``mask_length``.
    mask_length : int
        Span length in frames.
    min_masks : int
        Minimum number of spans per utterance.

    Returns
    -------
    torch.Tensor
        (B, max_len) boolean, True = masked; never True on padding.

    Example
    -------
    >>> _ = torch.manual_seed(0)
    >>> mask = compute_span_mask(torch.tensor([100, 40]), 100)
    >>> bool(mask[1, 40:].any())
    False
    >>> mask.sum(dim=1).tolist()  # each utterance its own count
    [54, 19]
    """
    if not 0.0 < mask_prob < 1.0:
        raise ValueError(f"mask_prob must be in (0, 1), got {mask_prob}")
    if mask_length < 1:
        raise ValueError(f"mask_length must be >= 1, got {mask_length}")
    lengths = frame_lengths.long().cpu()
    B = lengths.shape[0]
    num_spans = (
        (mask_prob * lengths.double() / mask_length + torch.rand(B).double())
        .floor()
        .long()
    )
    num_spans = num_spans.clamp(min=min_masks)
    most = int(num_spans.max()) if B else 0
    room = (lengths - mask_length + 1).clamp(min=1)  # possible starts
    starts = (torch.rand(B, most) * room[:, None]).long()
    span_ok = torch.arange(most)[None, :] < num_spans[:, None]
    frames = starts[..., None] + torch.arange(mask_length)  # (B, S, L)
    inside = span_ok[..., None] & (frames < lengths[:, None, None])
    hits = torch.zeros(B, max_len + mask_length, dtype=torch.long)
    hits.scatter_add_(1, frames.view(B, -1), inside.view(B, -1).long())
    return hits[:, :max_len] > 0


def sample_negatives(mask, num_negatives):
    """Indices of negatives for every masked frame.

    Negatives for a masked frame are drawn uniformly, with replacement,
    from the OTHER masked frames of the same utterance (Baevski et al.
    2020, Sec. 3.2). Masked frames are numbered in ``mask.nonzero()``
    order, i.e. the order of ``x[mask]``.

    Arguments
    ---------
    mask : torch.Tensor
        (B, T) boolean, True = masked.
    num_negatives : int
        Negatives per masked frame.

    Returns
    -------
    neg_index : torch.Tensor
        (N, num_negatives) indices into ``x[mask]`` (N masked frames).
    valid : torch.Tensor
        (N,) boolean: False where the utterance has a single masked frame
        (no negative exists; such frames should be left out of the loss).

    Example
    -------
    >>> mask = torch.tensor([[1, 1, 0, 1], [0, 1, 1, 0]], dtype=torch.bool)
    >>> idx, valid = sample_negatives(mask, 5)
    >>> idx.shape, bool(valid.all())
    (torch.Size([5, 5]), True)
    >>> bool((idx[:3] < 3).all() and (idx[3:] >= 3).all())  # same utterance
    True
    >>> bool((idx != torch.arange(5)[:, None]).all())  # never the positive
    True
    """
    per_utt = mask.sum(dim=1)  # (B,)
    utt = mask.nonzero()[:, 0]  # (N,) utterance of each masked frame
    first = per_utt.cumsum(0) - per_utt  # (B,) offset in x[mask]
    N = utt.shape[0]
    own = torch.arange(N, device=mask.device) - first[utt]  # pos in utt
    count = per_utt[utt]  # (N,)
    others = (count - 1).clamp(min=1)
    draw = (
        torch.rand(N, num_negatives, device=mask.device) * others[:, None]
    ).long()
    draw = draw + (draw >= own[:, None]).long()  # skip the positive
    draw = torch.minimum(draw, (count - 1)[:, None])
    return first[utt][:, None] + draw, count > 1
