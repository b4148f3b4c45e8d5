"""The progressive encoder (lobes.encoders.progressive)."""

import pytest
import torch

from summary_ssl.lobes.encoders.progressive import ProgressiveEncoder
from summary_ssl.lobes.encoders.transformer import TransformerEncoder
from summary_ssl.nnet.conv_stack import ConvStack
from summary_ssl.nnet.padding import padding_mask


def _stage(kind, layers, attention_type):
    if kind == "transformer":
        return TransformerEncoder(
            layers,
            16,
            32,
            4,
            dropout=0.0,
            attention_type=attention_type,
            conv_pos_kernel=8,
            conv_pos_groups=4,
        )
    from summary_ssl.lobes.encoders.conformer import ConformerEncoder

    return ConformerEncoder(
        layers, 16, 32, 4, kernel_size=3, attention_type=attention_type
    )


@pytest.mark.parametrize(
    "kind, attention_type",
    [
        ("transformer", "FlashMHA"),
        ("transformer", "SummaryMixing"),
        ("transformer", "RelPosMHAXL"),
        ("conformer", "SummaryMixing"),
        ("conformer", "FlashMHA"),
    ],
)
def test_progressive_encoder_batch_equals_one_by_one(kind, attention_type):
    torch.manual_seed(0)
    enc = ProgressiveEncoder(
        _stage(kind, 2, attention_type),
        ConvStack(16, [(24, 5, 2), (16, 1, 1)]),
        _stage(kind, 1, attention_type),
    ).eval()
    lengths = torch.tensor([40, 27, 13])
    x = torch.randn(3, 40, 16)
    x[padding_mask(lengths, 40)] = 0.0
    with torch.no_grad():
        batch = enc(x, lengths, output_hidden_states=True)
        for b, n in enumerate(lengths.tolist()):
            alone = enc(x[b : b + 1, :n], lengths[b : b + 1], True)
            m = int(batch["lengths"][b])
            assert m == int(enc.output_lengths(n)) == alone["context"].shape[1]
            torch.testing.assert_close(
                batch["context"][b, :m], alone["context"][0], atol=1e-5, rtol=0
            )
            torch.testing.assert_close(
                batch["hidden_states"][:, b, :n],
                alone["hidden_states"][:, 0],
                atol=1e-5,
                rtol=0,
            )
            assert batch["hidden_states"][:, b, n:].abs().sum() == 0
    assert batch["hidden_states"].shape[0] == 1 + len(enc.layers) == 4
