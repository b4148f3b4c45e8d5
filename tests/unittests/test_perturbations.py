"""Input perturbations of teacher-student pretraining
(lobes.augment.perturbations)."""

import pytest
import torch

from summary_ssl.lobes.augment.perturbations import (
    NoiseMixer,
    RandomShift,
    SpecAugment,
    time_mask,
)
from summary_ssl.nnet.padding import padding_mask


def _padded_feats(lengths, dim=16):
    """Features with non-zero garbage in the padding."""
    torch.manual_seed(1)
    lengths = torch.tensor(lengths)
    feats = torch.randn(len(lengths), int(lengths.max()), dim)
    feats[padding_mask(lengths, feats.shape[1])] = 7.0
    return feats, lengths


def test_spec_augment_never_touches_padding():
    feats, lengths = _padded_feats([200, 120, 37])
    augment = SpecAugment(
        freq_masks=3, freq_width=6, time_mask_ratio=0.05, time_width=10
    )
    padding = padding_mask(lengths, feats.shape[1])
    changed = torch.zeros_like(padding)
    for _ in range(20):
        out = augment(feats, lengths)
        assert torch.equal(out[padding], feats[padding])
        changed |= (out != feats).any(dim=-1)
    assert changed[~padding].float().mean() > 0.5  # real frames masked


def test_spec_augment_masks_in_proportion_to_each_length():
    torch.manual_seed(0)
    lengths = torch.tensor([2000, 400])
    fractions = torch.stack(
        [
            time_mask(lengths, 2000, 0.025, 20).float().sum(1) / lengths
            for _ in range(50)
        ]
    ).mean(0)
    # About 1 - exp(-0.025 * 10) = 22 % masked, whatever the length.
    assert 0.17 < fractions[0] < 0.27 and 0.17 < fractions[1] < 0.27


def test_noise_mixer_snr_and_padding():
    torch.manual_seed(0)
    wavs = torch.randn(3, 16000)
    wav_lens = torch.tensor([1.0, 0.5, 0.25])
    wavs[padding_mask(torch.round(wav_lens * 16000).long(), 16000)] = 0.5
    noisy = NoiseMixer(prob=1.0, snr_low=10.0, snr_high=10.0)(wavs, wav_lens)
    padding = padding_mask(torch.round(wav_lens * 16000).long(), 16000)
    assert torch.equal(noisy[padding], wavs[padding])
    # AddNoise keeps (1 - f) of the clean signal, f = 1 / (10^(SNR/20) + 1).
    f = 1 / (10 ** (10 / 20) + 1)
    for i, n in enumerate((16000, 8000, 4000)):
        clean = (1 - f) * wavs[i, :n]
        noise = noisy[i, :n] - clean
        snr = 20 * torch.log10(
            clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt()
        )
        assert float(snr) == pytest.approx(10.0, abs=0.5)


def test_noise_mixer_noises_a_fraction_of_utterances():
    torch.manual_seed(0)
    wavs = torch.randn(400, 100)
    noisy = NoiseMixer(prob=0.5)(wavs, torch.ones(400))
    noised = (noisy != wavs).any(dim=1).float().mean()
    assert 0.4 < float(noised) < 0.6


def test_random_shift_pads_around_the_real_frames():
    feats, lengths = _padded_feats([30, 12])
    shift = RandomShift(unit=4, min_shift=1, max_shift=3)
    for _ in range(10):
        out, new_lengths, left, right = shift(feats, lengths)
        assert 1 <= left <= 3 and 1 <= right <= 3
        assert torch.equal(new_lengths, lengths + 4 * (left + right))
        for b, n in enumerate(lengths.tolist()):
            start = 4 * left
            assert torch.equal(out[b, start : start + n], feats[b, :n])
            assert (out[b, :start] == 0).all()
            assert (out[b, start + n :] == 0).all()


def test_identity_settings_give_identity():
    feats, lengths = _padded_feats([50, 20])
    assert torch.equal(
        SpecAugment(freq_masks=0, time_mask_ratio=0.0)(feats, lengths), feats
    )
    wavs = torch.randn(2, 300)
    assert torch.equal(NoiseMixer(prob=0.0)(wavs, torch.ones(2)), wavs)
    out, new_lengths, left, right = RandomShift(max_shift=0)(feats, lengths)
    assert out is feats and new_lengths is lengths and left == right == 0
