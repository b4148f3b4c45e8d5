"""The Conformer encoder: padding invariance, errors, YAML, layerdrop."""

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.lobes.models.transformer.Conformer import (
    ConformerEncoder as SBConformerEncoder,
)

from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.mixers import ATTENTION_TYPES

LENGTHS = [23, 17, 9, 1]


def _padding(lengths, T):
    lengths = torch.tensor(lengths)
    return torch.arange(T)[None, :] >= lengths[:, None]


def _encoder(attention_type, **kwargs):
    torch.manual_seed(0)
    return ConformerEncoder(
        num_layers=2,
        d_model=32,
        d_ffn=64,
        nhead=4,
        kernel_size=7,
        attention_type=attention_type,
        **kwargs,
    ).eval()


@pytest.mark.parametrize("attention_type", ATTENTION_TYPES)
def test_batch_equals_single(attention_type):
    """Every utterance of a padded batch gives what it gives alone, for
    every mixer, SpeechBrain's included."""
    enc = _encoder(attention_type, output_hidden_states=True)
    T = max(LENGTHS)
    x = torch.randn(len(LENGTHS), T, 32)
    padding = _padding(LENGTHS, T)
    x = x.masked_fill(padding[..., None], 0.0)
    with torch.no_grad():
        out, _, hidden = enc(x, src_key_padding_mask=padding)
        for b, n in enumerate(LENGTHS):
            alone, _, hidden_alone = enc(x[b : b + 1, :n])
            torch.testing.assert_close(
                out[b : b + 1, :n], alone, atol=2e-5, rtol=1e-4
            )
            torch.testing.assert_close(
                hidden[-1][b : b + 1, :n],
                hidden_alone[-1],
                atol=2e-5,
                rtol=1e-4,
            )
    assert torch.all(out[padding] == 0)
    assert len(hidden) == 3


def test_speechbrain_conformer_leaks_padding():
    """Why this encoder exists: SpeechBrain 1.1.2's ConformerEncoder is
    not padding-invariant (its conv module masks after the conv). If this
    starts failing, SpeechBrain fixed it and our fork can shrink."""
    torch.manual_seed(0)
    enc = SBConformerEncoder(
        2, 32, 64, 4, kernel_size=7, attention_type="regularMHA"
    ).eval()
    T = max(LENGTHS)
    x = torch.randn(len(LENGTHS), T, 32).masked_fill(
        _padding(LENGTHS, T)[..., None], 0.0
    )
    with torch.no_grad():
        out, _ = enc(x, src_key_padding_mask=_padding(LENGTHS, T))
        alone, _ = enc(x[1:2, : LENGTHS[1]])
    assert (out[1:2, : LENGTHS[1]] - alone).abs().max() > 1e-3


def test_unknown_type_fails_at_build_time():
    with pytest.raises(ValueError, match="valid: SummaryMixing"):
        ConformerEncoder(1, 16, 32, 4, attention_type="SumaryMixing")


def test_bad_mixer_options_are_named():
    with pytest.raises(ValueError, match="FlashMHA"):
        _encoder("FlashMHA", mixer_options={"rotaryy": True})
    with pytest.raises(ValueError, match="set by the encoder"):
        _encoder("FlashMHA", mixer_options={"nhead": 2})


def test_mixer_options_reach_the_mixer():
    enc = _encoder(
        "SummaryMixing",
        mixer_options={"local_proj_hid_dim": [48], "use_layernorm": False},
    )
    mixer = enc.layers[0].mha_layer
    assert mixer.input_proj.out_features == 48 + 32
    assert mixer.local_norm is None
    assert (
        _encoder("FlashMHA", mixer_options={"rotary": True})
        .layers[0]
        .mha_layer.rotary
        is not None
    )


# A ConformerEncoder in YAML; the tests add its attention_type and mixer keys.
ENCODER = """
encoder: !new:summary_ssl.lobes.encoders.conformer.ConformerEncoder
    num_layers: 2
    d_model: 32
    d_ffn: 64
    nhead: 4
    kernel_size: 7
"""
YAML = (
    ENCODER
    + "    attention_type: {attention_type}\n    mixer_options: {options}\n"
)


@pytest.mark.parametrize("attention_type", ATTENTION_TYPES)
def test_yaml_for_every_type(attention_type):
    options = {"FlashMHA": "{rotary: True}"}.get(attention_type, "{}")
    hparams = load_hyperpyyaml(
        YAML.format(attention_type=attention_type, options=options)
    )
    out = hparams["encoder"](torch.randn(2, 5, 32))[0]
    assert out.shape == (2, 5, 32)


def test_yaml_attention_type_override():
    """Swapping the encoder is a one-line (or command-line) change."""
    hparams = load_hyperpyyaml(
        YAML.format(attention_type="SummaryMixing", options="{}"),
        overrides={"encoder": {"attention_type": "FlashMHA"}},
    )
    assert type(hparams["encoder"].layers[0].mha_layer).__name__ == "FlashMHA"


def test_layerdrop_leaves_every_parameter_a_gradient():
    """A dropped layer still gets (zero) gradients: DDP needs no
    find_unused_parameters."""
    enc = _encoder("SummaryMixing", layerdrop_prob=0.5).train()
    x = torch.randn(2, 6, 32)
    torch.manual_seed(3)
    dropped_any = False
    for _ in range(10):
        enc.zero_grad(set_to_none=True)
        out, attn = enc(x)
        dropped_any |= len(attn) < 2
        out.sum().backward()
        assert all(p.grad is not None for p in enc.parameters())
    assert dropped_any
    enc.eval()
    assert len(enc(x)[1]) == 2  # no layerdrop in eval


def test_layerdrop_keeps_one_hidden_state_per_layer():
    """With layers dropped, ``hidden_states`` still has one entry per
    layer (index i = after layer i): a dropped layer repeats its input."""
    enc = _encoder("SummaryMixing", layerdrop_prob=0.5).train()
    x = torch.randn(2, 6, 32)
    torch.manual_seed(3)
    seen_drop = False
    for _ in range(10):
        _, attn, hidden = enc(x, output_hidden_states=True)
        assert len(hidden) == 3
        if len(attn) == 1:  # one of the two layers dropped
            seen_drop = True
            assert torch.equal(hidden[1], hidden[0]) or torch.equal(
                hidden[2], hidden[1]
            )
    assert seen_drop


def test_layerdrop_range():
    with pytest.raises(ValueError, match="layerdrop_prob"):
        _encoder("FlashMHA", layerdrop_prob=1.0)


SUMMARY_MIXING_KEYS = """local_proj_hid_dim: [48]
local_proj_out_dim: 24
summary_hid_dim: [40]
use_layernorm: {use_layernorm}"""


def _indent(text, spaces):
    return "\n".join(" " * spaces + line for line in text.splitlines())


# The reference's way: the keys on the encoder, mode naming the variant.
REFERENCE_STYLE = (
    ENCODER
    + "    attention_type: SummaryMixing\n    mode: {mode}\n"
    + _indent(SUMMARY_MIXING_KEYS, 4)
)
# Ours: the variant as attention_type, the keys in mixer_options.
OPTIONS_STYLE = (
    ENCODER
    + "    attention_type: {mode}\n    mixer_options:\n"
    + _indent(SUMMARY_MIXING_KEYS, 8)
)


@pytest.mark.parametrize(
    "mode,use_layernorm",
    [
        ("SummaryMixing", True),
        ("SummaryMixing-lite", True),
        ("SummaryMixing-fast", False),
    ],
)
def test_reference_yaml_keys_build_the_same_encoder(mode, use_layernorm):
    """A YAML written for the reference implementation (SummaryMixing keys
    on the encoder, ``mode`` naming the variant) builds the module that
    the ``mixer_options`` form builds: same structure, same outputs for
    the same weights."""
    args = dict(mode=mode, use_layernorm=use_layernorm)
    reference = load_hyperpyyaml(REFERENCE_STYLE.format(**args))["encoder"]
    ours = load_hyperpyyaml(OPTIONS_STYLE.format(**args))["encoder"]
    assert reference.layers[0].mha_layer.mode == mode
    assert str(reference) == str(ours)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(3, 11, 32)
    padding = _padding([11, 6, 2], 11)
    with torch.no_grad():
        a = reference.eval()(x, src_key_padding_mask=padding)[0]
        b = ours.eval()(x, src_key_padding_mask=padding)[0]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_reference_keys_conflicts_are_errors():
    with pytest.raises(ValueError, match="disagree"):
        _encoder("SummaryMixing-lite", mode="SummaryMixing-fast")
    with pytest.raises(ValueError, match="both on the encoder"):
        _encoder(
            "SummaryMixing",
            summary_hid_dim=[8],
            mixer_options={"summary_hid_dim": [16]},
        )


def test_reference_keys_are_ignored_for_attention(caplog):
    enc = _encoder("FlashMHA", local_proj_hid_dim=[48], mode="SummaryMixing")
    assert type(enc.layers[0].mha_layer).__name__ == "FlashMHA"
    assert "Ignoring local_proj_hid_dim, mode" in caplog.text


def test_summary_mixing_uses_the_encoder_activation():
    """The reference Conformer passes its activation (Swish by default) to
    SummaryMixing; mixer_options can still choose another one."""
    from speechbrain.nnet.activations import Swish

    enc = _encoder("SummaryMixing")
    assert isinstance(enc.layers[0].mha_layer.activation, Swish)
    enc = _encoder("SummaryMixing", activation=torch.nn.GELU)
    assert isinstance(enc.layers[0].mha_layer.activation, torch.nn.GELU)
    enc = _encoder("SummaryMixing", mixer_options={"activation": torch.nn.ReLU})
    assert isinstance(enc.layers[0].mha_layer.activation, torch.nn.ReLU)


def test_layer_norm_eps_matches_speechbrain():
    sb = SBConformerEncoder(1, 32, 64, 4, kernel_size=7)
    ours = _encoder("RoPEMHA")
    for name in ("norm1", "norm2"):
        sb_eps = getattr(sb.layers[0], name).norm.eps
        assert getattr(ours.layers[0], name).eps == sb_eps == 1e-5
    assert ours.norm.eps == sb.norm.norm.eps == 1e-6
