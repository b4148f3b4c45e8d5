"""Span masks, masked slots and negative sampling
(lobes.augment.span_masking)."""

import torch

from summary_ssl.lobes.augment.span_masking import (
    compute_span_mask,
    masked_slots,
    sample_slot_negatives,
    span_bounds,
)


def test_span_mask_respects_padding_and_is_per_utterance():
    torch.manual_seed(0)
    lengths = torch.tensor([500, 300, 60, 12])
    mask = compute_span_mask(lengths, 500, mask_prob=0.65, mask_length=10)
    for b, n in enumerate(lengths.tolist()):
        assert not mask[b, n:].any()
    fractions = mask.sum(1).float() / lengths
    # Each utterance gets its own count, about mask_prob of it minus
    # overlaps (fairseq's ~0.49 at 0.65/10), not the shortest one's.
    assert 0.35 < fractions[0] < 0.65 and 0.35 < fractions[1] < 0.65
    assert mask.sum(1)[0] > 3 * mask.sum(1)[2]


def test_span_bounds_hold_for_every_length():
    """No utterance ever gets more spans or masked frames than
    span_bounds allows for its batch's padded length."""
    torch.manual_seed(3)
    for max_len in (1, 7, 12, 50, 333, 1000):
        lengths = torch.randint(1, max_len + 1, (64,))
        lengths[0] = max_len
        spans, frames = span_bounds(max_len, 0.65, 10, 2)
        for _ in range(20):
            mask = compute_span_mask(lengths, max_len)
            assert int(mask.sum(1).max()) <= frames
        assert frames <= max_len
        assert spans * 10 >= 0.65 * max_len + 1  # room for u ~ 1


def test_masked_slots_hold_the_masked_frames_in_order():
    torch.manual_seed(4)
    lengths = torch.tensor([120, 64, 9, 1])
    mask = compute_span_mask(lengths, 120)
    _, num_slots = span_bounds(120, 0.65, 10, 2)
    frames, counts, valid = masked_slots(mask, num_slots)
    assert frames.shape == (4, num_slots)
    for b in range(4):
        expected = mask[b].nonzero().squeeze(1)
        assert counts[b] == len(expected)
        assert torch.equal(frames[b, : counts[b]], expected)
        assert valid[b].sum() == counts[b]


def test_negatives_are_same_utterance_never_positive():
    torch.manual_seed(1)
    counts = torch.tensor([130, 50, 17, 2])
    idx, valid = sample_slot_negatives(counts, 140, 50)
    assert idx.shape == (4, 140, 50)
    for b, n in enumerate(counts.tolist()):
        own = idx[b, :n]
        assert bool((own >= 0).all() and (own < n).all())
        assert bool((own != torch.arange(n)[:, None]).all())
        assert bool(valid[b, :n].all()) and not valid[b, n:].any()
    # every masked frame gets drawn, and about uniformly
    assert idx[0, :130].unique().numel() == 130
    assert abs(idx[0, :130].float().mean() - 64.5) < 1.5
    assert idx[3, :2].tolist() == [[1] * 50, [0] * 50]


def test_negatives_with_a_single_masked_frame_are_flagged():
    idx, valid = sample_slot_negatives(torch.tensor([1, 3, 0]), 3, 4)
    assert valid.tolist() == [
        [False, False, False],
        [True, True, True],
        [False, False, False],
    ]
    assert (idx >= 0).all() and (idx < 3).all()
