"""The S3LSpeech encoder (lobes.encoders.s3lspeech)."""

import torch

from summary_ssl.lobes.augment.perturbations import (
    RandomShift,
)
from summary_ssl.lobes.encoders.progressive import ProgressiveEncoder
from summary_ssl.lobes.encoders.s3lspeech import ProjectedEncoder, S3LEncoder
from summary_ssl.lobes.encoders.transformer import TransformerEncoder
from summary_ssl.nnet.conv_stack import ConvStack
from summary_ssl.nnet.padding import padding_mask
from tests.unittests.test_perturbations import _padded_feats


def _conv_only_net(n_mels=16):
    """A ProjectedEncoder with no layers: frame-wise but for its convs."""
    encoder = S3LEncoder(
        ConvStack(n_mels, [(16, 5, 2), (16, 5, 2), (16, 1, 1)]),
        ProgressiveEncoder(
            TransformerEncoder(0, 16, 32, 4, dropout=0.0, conv_pos_kernel=0),
            ConvStack(16, [(24, 5, 2), (16, 1, 1)]),
            TransformerEncoder(0, 16, 32, 4, dropout=0.0, conv_pos_kernel=0),
        ),
        n_mels=n_mels,
    )
    return ProjectedEncoder(encoder, proj_dim=8).eval()


def test_random_shift_unit_and_crop_align_teacher_and_student_frames():
    """With an encoder that only sees positions through its strided
    convolutions, the cropped output for the shifted input equals the
    output for the original: the shift unit (8) matches the encoder's
    downsampling and crop() takes the right frames."""
    torch.manual_seed(0)
    net = _conv_only_net()
    feats, lengths = _padded_feats([120, 75])
    feats[padding_mask(lengths, 120)] = 0.0
    shift = RandomShift(unit=8, min_shift=0, max_shift=4)
    with torch.no_grad():
        plain, padding, out_lengths = net(feats, lengths)
        for _ in range(5):
            shifted, new_lengths, left, right = shift(feats, lengths)
            out, _, shifted_lengths = net(shifted, new_lengths)
            assert torch.equal(shifted_lengths, out_lengths + left + right)
            cropped = RandomShift.crop(out, left, plain.shape[1])
            torch.testing.assert_close(
                cropped.masked_fill(padding.unsqueeze(-1), 0), plain
            )
