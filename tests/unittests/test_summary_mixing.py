"""SummaryMixing against a direct implementation of its equations."""

import pytest
import torch
import torch.nn as nn

from summary_ssl.nnet.grouped_linear import GroupedLinear
from summary_ssl.nnet.summary_mixing import SummaryMixing

LENGTHS = torch.tensor([9, 6, 3, 1])


def _padding(lengths, T):
    return torch.arange(T)[None, :] >= lengths[:, None]


def _dense_mlp(layers, act, h):
    """Each layer as an explicit block-diagonal matrix, then act."""
    for layer in layers:
        h = act(h @ layer.dense_weight().t() + layer.bias)
    return h


def _direct(mixer, x, length):
    """Eq. 1 of Parcollet et al. 2023 for ONE utterance, written out."""
    x = x[:length]
    act = mixer.activation
    first_w = mixer.input_proj.dense_weight()  # (L0 + S0, D), per-head mix
    first_b = mixer.input_proj.bias
    H = mixer.groups  # nhead, or 1 for the dense fast projection
    L0 = mixer.local_first_dim
    # Rows of the fused first layer, per head: [local_g, summary_g].
    rows = torch.arange(first_w.shape[0]).view(H, -1)
    local_rows = rows[:, : L0 // H].flatten()
    summary_rows = rows[:, L0 // H :].flatten()
    s = act(x @ first_w[summary_rows].t() + first_b[summary_rows])
    s = _dense_mlp(mixer.summary_layers, act, s)
    s_bar = s.mean(dim=0)  # Eq. 1c: mean over the real frames only
    if mixer.summary_norm is not None:
        s_bar = mixer.summary_norm(s_bar)
    if L0 == 0:  # lite
        return s_bar.expand(length, -1)
    f = act(x @ first_w[local_rows].t() + first_b[local_rows])
    f = _dense_mlp(mixer.local_layers, act, f)
    if mixer.local_norm is not None:
        f = mixer.local_norm(f)
    # Eq. 1a: combiner on the concatenation [f_t; s_bar].
    W = torch.cat(
        [mixer.combine_local.weight, mixer.combine_summary.weight], dim=1
    )
    cat = torch.cat([f, s_bar.expand(length, -1)], dim=-1)
    return act(cat @ W.t() + mixer.combine_local.bias)


@pytest.mark.parametrize(
    "mode", ["SummaryMixing", "SummaryMixing-lite", "SummaryMixing-fast"]
)
@pytest.mark.parametrize("nhead", [1, 4])
def test_matches_direct_equations(mode, nhead):
    torch.manual_seed(0)
    mixer = SummaryMixing(
        enc_dim=16,
        nhead=nhead,
        local_proj_hid_dim=[24],
        local_proj_out_dim=8,
        summary_hid_dim=[32, 8],
        summary_out_dim=16,
        mode=mode,
    ).eval()
    x = torch.randn(4, 9, 16)
    out, attn = mixer(x, x, x, key_padding_mask=_padding(LENGTHS, 9))
    assert attn is None
    for b, length in enumerate(LENGTHS.tolist()):
        ref = _direct(mixer, x[b], length)
        torch.testing.assert_close(out[b, :length], ref, atol=1e-5, rtol=1e-5)


def test_lite_is_the_mean_of_the_summary_mlp_alone():
    """Reference SummaryMixing-lite: out_t = 1/T sum_t' s(x_t'), with s a
    per-head MLP (act after every layer); no LayerNorm, no combiner."""
    torch.manual_seed(3)
    mixer = SummaryMixing(
        enc_dim=16,
        nhead=4,
        local_proj_hid_dim=[8],
        local_proj_out_dim=8,
        summary_hid_dim=[32],
        summary_out_dim=16,
        mode="SummaryMixing-lite",
        use_layernorm=True,  # the reference ignores it in lite mode
    ).eval()
    assert mixer.summary_norm is None and mixer.local_norm is None
    assert not hasattr(mixer, "combine_local")
    x = torch.randn(4, 9, 16)
    out, _ = mixer(x, key_padding_mask=_padding(LENGTHS, 9))
    layers = [mixer.input_proj] + list(mixer.summary_layers)
    for b, length in enumerate(LENGTHS.tolist()):
        s = _dense_mlp(layers, mixer.activation, x[b, :length])
        ref = s.mean(dim=0).expand(length, -1)
        torch.testing.assert_close(out[b, :length], ref)


@pytest.mark.parametrize("nhead", [1, 4])
def test_fast_is_one_dense_projection(nhead):
    """Reference SummaryMixing-fast: [f_t; s_t] = act(W x_t + b) with ONE
    dense W of 2 * local_proj_out_dim rows, whatever nhead is; out_t =
    act(W_c [f_t; mean_t' s_t'] + b_c); no LayerNorm."""
    torch.manual_seed(4)
    D, L = 16, 12
    mixer = SummaryMixing(
        enc_dim=D,
        nhead=nhead,
        local_proj_hid_dim=[32],  # unused by the fast mode
        local_proj_out_dim=L,
        summary_hid_dim=[32],
        summary_out_dim=D,
        mode="SummaryMixing-fast",
        use_layernorm=True,  # unused by the fast mode
    ).eval()
    assert mixer.summary_norm is None and mixer.local_norm is None
    W = mixer.input_proj.dense_weight()  # (2L, D)
    assert W.shape == (2 * L, D)
    assert bool((W != 0).all())  # dense: no zero off-diagonal blocks
    b = mixer.input_proj.bias
    Wc = torch.cat(
        [mixer.combine_local.weight, mixer.combine_summary.weight], dim=1
    )
    x = torch.randn(4, 9, D)
    out, _ = mixer(x, key_padding_mask=_padding(LENGTHS, 9))
    act = mixer.activation
    for i, length in enumerate(LENGTHS.tolist()):
        proj = act(x[i, :length] @ W.t() + b)
        f, s = proj[:, :L], proj[:, L:]
        cat = torch.cat([f, s.mean(dim=0).expand(length, -1)], dim=-1)
        ref = act(cat @ Wc.t() + mixer.combine_local.bias)
        torch.testing.assert_close(out[i, :length], ref)


@pytest.mark.parametrize(
    "mode",
    [
        "SummaryMixing",
        "SummaryMixing-lite",
        "SummaryMixing-fast",
        "SummaryMixing-expdecay",
    ],
)
def test_batch_equals_single(mode):
    """Each utterance of a padded batch = that utterance alone, the
    longest one included; garbage in the padding changes nothing."""
    torch.manual_seed(1)
    mixer = SummaryMixing(
        16, 2, [16], 16, [16], 16, mode=mode, global_dropout=0.0
    ).eval()
    x = torch.randn(4, 9, 16)
    padding = _padding(LENGTHS, 9)
    x = x.masked_fill(padding[..., None], 1e3)  # loud padding
    out, _ = mixer(x, key_padding_mask=padding)
    for b, length in enumerate(LENGTHS.tolist()):
        alone, _ = mixer(x[b : b + 1, :length])
        torch.testing.assert_close(out[b : b + 1, :length], alone)
    assert torch.isfinite(out).all()


def test_no_mask_means_all_frames_and_works_on_meta_device():
    mixer = SummaryMixing(8, 1, [8], 8, [8], 8).eval()
    x = torch.randn(2, 5, 8)
    no_mask, _ = mixer(x)
    zeros_mask, _ = mixer(x, key_padding_mask=torch.zeros(2, 5, dtype=bool))
    torch.testing.assert_close(no_mask, zeros_mask)


def test_expdecay_is_a_decaying_window():
    """With decay -> 0, each frame's summary is its own s(x_t)."""
    mixer = SummaryMixing(
        8,
        1,
        [8],
        8,
        [8],
        8,
        mode="SummaryMixing-expdecay",
        use_layernorm=False,
        decay_constant=1e-12,
    ).eval()
    x = torch.randn(1, 6, 8)
    _, s = mixer._split_heads(mixer.input_proj(x))
    s = mixer._branch(mixer.activation(s), mixer.summary_layers)
    torch.testing.assert_close(mixer._summarise(s, None, None), s)


def test_attn_mask_gives_per_frame_summaries():
    """A causal attn_mask: frame t summarises frames 0..t only."""
    torch.manual_seed(2)
    mixer = SummaryMixing(
        8, 1, [8], 8, [8], 8, mode="SummaryMixing-lite", use_layernorm=False
    ).eval()
    x = torch.randn(1, 5, 8)
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    out, _ = mixer(x, attn_mask=causal)
    for t in range(5):
        prefix, _ = mixer(x[:, : t + 1])
        torch.testing.assert_close(out[:, t], prefix[:, t])


def test_summary_is_not_repeated_over_time():
    """The summary reaches the combiner as (B, 1, D), not (B, T, D)."""
    mixer = SummaryMixing(8, 1, [8], 8, [8], 8).eval()
    seen = []
    mixer.combine_summary.register_forward_hook(
        lambda m, inp, out: seen.append(inp[0].shape)
    )
    mixer(torch.randn(2, 50, 8))
    assert seen == [torch.Size([2, 1, 8])]


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        SummaryMixing(8, 1, mode="SummaryMixing-turbo")
    with pytest.raises(ValueError, match="summary_out_dim"):
        SummaryMixing(8, 1, [8], 8, [8], 16, mode="SummaryMixing-lite")
    with pytest.raises(ValueError, match="divide"):
        SummaryMixing(8, 3, [8], 8, [8], 8)


def test_grouped_linear_is_block_diagonal():
    layer = GroupedLinear(6, 4, groups=2)
    x = torch.randn(3, 6)
    dense = nn.functional.linear(x, layer.dense_weight(), layer.bias)
    torch.testing.assert_close(layer(x), dense)
    w = layer.dense_weight()
    assert torch.all(w[:2, 3:] == 0) and torch.all(w[2:, :3] == 0)
