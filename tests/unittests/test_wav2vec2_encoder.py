"""The wav2vec 2.0 encoder (lobes.encoders.wav2vec2)."""

import pytest
import torch

from summary_ssl.lobes.frontends import FbankCNNFrontEnd


def test_feature_grad_mult_scales_only_the_front_end_gradient():
    from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder

    grads, outs = {}, {}
    for mult in (1.0, 0.1):
        torch.manual_seed(0)
        model = Wav2Vec2Encoder(
            FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
            ConformerEncoder(1, 16, 32, 2, kernel_size=3),
            d_model=16,
            dropout_input=0.0,
            feature_grad_mult=mult,
        ).eval()
        torch.manual_seed(1)
        out = model(torch.randn(2, 8000), torch.tensor([1.0, 0.7]))
        out["context"].pow(2).sum().backward()
        outs[mult] = out["context"].detach()
        grads[mult] = {
            n: p.grad.clone()
            for n, p in model.named_parameters()
            if p.grad is not None
        }
    torch.testing.assert_close(outs[0.1], outs[1.0])
    for name, grad in grads[1.0].items():
        scale = 0.1 if name.startswith("frontend.") else 1.0
        torch.testing.assert_close(grads[0.1][name], scale * grad)


def test_feature_grad_mult_zero_freezes_the_front_end():
    from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder

    def build(mult):
        return Wav2Vec2Encoder(
            FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
            ConformerEncoder(1, 16, 32, 2, kernel_size=3),
            d_model=16,
            feature_grad_mult=mult,
        )

    model = build(0)
    out = model(torch.randn(2, 8000), torch.tensor([1.0, 0.7]))
    out["context"].pow(2).sum().backward()
    for name, p in model.named_parameters():
        frozen = name.startswith("frontend.")
        assert p.requires_grad != frozen, name
        if name != "mask_emb":  # no mask given here
            assert (p.grad is None) == frozen, name
    with pytest.raises(ValueError, match="feature_grad_mult"):
        build(-0.1)


def test_encoder_returns_only_the_hidden_states_asked_for():
    """``output_hidden_states`` as indices returns those states only, in
    that order, equal to the full stack's; False or none asked: no
    ``hidden_states``."""
    from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder

    torch.manual_seed(0)
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
        ConformerEncoder(2, 16, 32, 2, kernel_size=3),
        d_model=16,
    ).eval()
    wavs, lens = torch.randn(2, 8000), torch.tensor([1.0, 0.7])
    with torch.no_grad():
        full = model(wavs, lens, output_hidden_states=True)
        assert full["hidden_states"].shape[0] == 3
        for asked in ([1], [2, 0]):
            out = model(wavs, lens, output_hidden_states=asked)
            torch.testing.assert_close(
                out["hidden_states"], full["hidden_states"][asked]
            )
            torch.testing.assert_close(out["context"], full["context"])
        for none in (False, []):
            out = model(wavs, lens, output_hidden_states=none)
            assert "hidden_states" not in out
