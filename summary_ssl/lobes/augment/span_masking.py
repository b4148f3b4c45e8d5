"""Span masking and negative sampling for wav2vec 2.0 (Baevski et al.
2020, Sec. 3.1 and 3.2), padding-aware and with fixed shapes.

SpeechBrain's ``compute_mask`` gives every utterance the number of spans
of the shortest one in the batch, and its ``sample_negatives`` draws from
the padded frames too. Here each utterance gets its own number of spans,
spans and negatives stay inside its real frames, and a negative is never
the positive itself.

:func:`compute_span_mask`, :func:`masked_slots` and
:func:`sample_slot_negatives` run on the device of their inputs, with
shapes that depend only on the batch's shape (never on the random draws):
no ``nonzero``, no boolean-mask indexing, no ``.item()``. So a training
step never waits for the GPU to tell the host how many frames were
masked, and ``torch.compile`` traces it as one graph. The masked frames of each
utterance are laid out in ``num_slots`` slots (:func:`masked_slots`), a
bound computed from the padded length (:func:`span_bounds`); slots past an
utterance's own count are marked invalid and weigh nothing in the loss.

Authors
-------
* summary_ssl contributors 2026
"""

import math

import torch

# mask_prob is rounded UP to a multiple of 1 / _PROB_SCALE for the bounds,
# so that they are integer arithmetic on the (possibly symbolic) length.
_PROB_SCALE = 1_000_000


def span_bounds(max_len, mask_prob, mask_length, min_masks):
    """Most spans, and most masked frames, an utterance of a batch padded
    to ``max_len`` frames can get from :func:`compute_span_mask`.

    An utterance of ``n <= max_len`` frames gets ``max(min_masks,
    floor(mask_prob * n / mask_length + u))`` spans, ``u < 1``, so at most
    ``max(min_masks, floor(mask_prob * max_len / mask_length) + 1)``, and
    at most ``min(max_len, spans * mask_length)`` masked frames. Integer
    arithmetic only (``torch.sym_min``/``sym_max``), so a dynamic
    ``max_len`` under ``torch.compile`` adds no guard.

    Arguments
    ---------
    max_len : int
        Padded number of frames.
    mask_prob, mask_length, min_masks : float, int, int
        The arguments of :func:`compute_span_mask`.

    Returns
    -------
    spans : int
    frames : int

    Example
    -------
    >>> span_bounds(100, 0.65, 10, 2)  # floor(6.5) + 1 spans
    (7, 70)
    >>> span_bounds(12, 0.65, 10, 2)
    (2, 12)
    """
    num = math.ceil(mask_prob * _PROB_SCALE)
    spans = torch.sym_max(
        min_masks, max_len * num // (_PROB_SCALE * mask_length) + 1
    )
    return spans, torch.sym_min(max_len, spans * mask_length)


def compute_span_mask(
    frame_lengths, max_len, mask_prob=0.65, mask_length=10, min_masks=2
):
    """Samples masked spans per utterance, inside its real frames.

    Each utterance of ``n`` frames gets ``floor(mask_prob * n / mask_length
    + u)`` span starts (``u ~ U[0, 1)``, at least ``min_masks``), drawn
    uniformly in ``[0, n - mask_length]``; spans may overlap (as in
    fairseq), so about ``mask_prob`` of long utterances' frames end up
    masked before overlaps (about 0.49 after them at 0.65 / 10).

    It draws from the RNG of ``frame_lengths``' device (the CUDA generator
    on a GPU), which the training checkpoints save and restore. Shapes are
    fixed by ``max_len``: the span starts of every utterance are drawn in
    :func:`span_bounds` slots and the unused ones switched off.

    Arguments
    ---------
    frame_lengths : torch.Tensor
        (B,) real frames per utterance (integer, on the target device).
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
    lengths = frame_lengths.long()
    device = lengths.device
    B = lengths.shape[0]
    most, _ = span_bounds(max_len, mask_prob, mask_length, min_masks)
    num_spans = (
        ((mask_prob / mask_length) * lengths + torch.rand(B, device=device))
        .floor()
        .long()
        .clamp(min=min_masks)
    )
    room = (lengths - mask_length + 1).clamp(min=1)  # possible starts
    starts = (torch.rand(B, most, device=device) * room[:, None]).long()
    # At most `most` spans: float rounding could ask for one more in a
    # vanishingly rare case; it is then dropped.
    span_ok = torch.arange(most, device=device)[None, :] < num_spans[:, None]
    offsets = torch.arange(mask_length, device=device)
    frames = starts[..., None] + offsets  # (B, S, L)
    inside = span_ok[..., None] & (frames < lengths[:, None, None])
    hits = torch.zeros(
        B, max_len + mask_length, dtype=torch.int32, device=device
    )
    hits.scatter_add_(1, frames.view(B, -1), inside.view(B, -1).int())
    return hits[:, :max_len] > 0


def masked_slots(mask, num_slots):
    """The masked frames of each utterance, in time order, in fixed slots.

    Arguments
    ---------
    mask : torch.Tensor
        (B, T) boolean, True = masked.
    num_slots : int
        Slots per utterance; at least the most masked frames any
        utterance has (``span_bounds(...)[1]``, or ``T``). Masked frames
        past it are left out (never, with that bound).

    Returns
    -------
    frames : torch.Tensor
        (B, num_slots) frame index of each slot: slot ``i`` of utterance
        ``b`` holds its ``i``-th masked frame (an unmasked frame, to be
        ignored, past its count).
    counts : torch.Tensor
        (B,) masked frames per utterance (at most ``num_slots``).
    valid : torch.Tensor
        (B, num_slots) boolean, True where the slot holds a masked frame.

    Example
    -------
    >>> mask = torch.tensor([[0, 1, 1, 0, 1], [1, 0, 0, 0, 0]]).bool()
    >>> frames, counts, valid = masked_slots(mask, 3)
    >>> frames[valid].tolist(), counts.tolist()
    ([1, 2, 4, 0], [3, 1])
    """
    # A stable sort puts each row's masked frames first, in time order.
    order = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)
    frames = order[:, :num_slots]
    counts = mask.sum(dim=1).clamp(max=num_slots)
    slot = torch.arange(frames.shape[1], device=mask.device)
    return frames, counts, slot[None, :] < counts[:, None]


def sample_slot_negatives(counts, num_slots, num_negatives):
    """Negatives for every slot: other masked frames of its utterance.

    Negatives for the masked frame in slot ``i`` are drawn uniformly, with
    replacement, from the OTHER masked frames (slots ``j != i``, ``j <
    count``) of the same utterance (Baevski et al. 2020, Sec. 3.2).

    Arguments
    ---------
    counts : torch.Tensor
        (B,) masked frames per utterance (see :func:`masked_slots`).
    num_slots : int
        Slots per utterance.
    num_negatives : int
        Negatives per masked frame (K).

    Returns
    -------
    neg_index : torch.Tensor
        (B, num_slots, K) slot indices, within the same utterance.
    valid : torch.Tensor
        (B, num_slots) boolean: True for a slot holding a masked frame of
        an utterance with at least two of them (a single masked frame has
        no negative; such frames, and empty slots, weigh nothing).

    Example
    -------
    >>> counts = torch.tensor([3, 1])
    >>> idx, valid = sample_slot_negatives(counts, 4, 5)
    >>> idx.shape
    torch.Size([2, 4, 5])
    >>> valid.tolist()
    [[True, True, True, False], [False, False, False, False]]
    >>> bool((idx[0, :3] < 3).all())  # the utterance's masked frames only
    True
    >>> bool((idx[0, :3] != torch.arange(3)[:, None]).all())  # never itself
    True
    """
    device = counts.device
    B = counts.shape[0]
    own = torch.arange(num_slots, device=device)
    others = (counts - 1).clamp(min=1)
    draw = (
        torch.rand(B, num_slots, num_negatives, device=device)
        * others[:, None, None]
    ).long()
    draw = draw + (draw >= own[None, :, None]).long()  # skip the positive
    draw = torch.minimum(draw, (counts - 1).clamp(min=0)[:, None, None])
    valid = (own[None, :] < counts[:, None]) & (counts[:, None] > 1)
    return draw, valid


def sample_negatives(mask, num_negatives):
    """Indices of negatives for every masked frame, in the flat layout.

    Negatives for a masked frame are drawn uniformly, with replacement,
    from the OTHER masked frames of the same utterance (Baevski et al.
    2020, Sec. 3.2). Masked frames are numbered in ``mask.nonzero()``
    order, i.e. the order of ``x[mask]``: the number of rows is the mask's
    count, read on the host (a synchronisation on a GPU). The
    teacher-student objective uses this form; wav2vec 2.0's uses the fixed
    slots of :func:`masked_slots` and :func:`sample_slot_negatives`.

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
