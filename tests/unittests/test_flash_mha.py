"""FlashMHA against plain softmax attention, on CPU and (if any) GPU."""

import math

import pytest
import torch
from torch.nn.attention import SDPBackend

from summary_ssl.nnet.attention import FlashMHA
from tests.conftest import requires_cuda

LENGTHS = [12, 7, 3, 1]


def _padding(lengths, T, device="cpu"):
    lengths = torch.tensor(lengths, device=device)
    return torch.arange(T, device=device)[None, :] >= lengths[:, None]


def reference_attention(mha, x, padding=None):
    """softmax(QK^T/sqrt(d) + mask) V, in float64, written out."""
    x = x.double()
    W, b = mha.in_proj.weight.double(), mha.in_proj.bias.double()
    B, T, D = x.shape
    q, k, v = (x @ W.t() + b).view(B, T, 3, mha.nhead, -1).unbind(2)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    if mha.rotary is not None:
        q, k = mha.rotary(q), mha.rotary(k)
    scores = q @ k.transpose(-1, -2) / math.sqrt(mha.head_dim)
    if padding is not None:
        scores = scores.masked_fill(padding[:, None, None, :], -math.inf)
    out = torch.softmax(scores, dim=-1) @ v
    out = out.transpose(1, 2).reshape(B, T, D)
    return out @ mha.out_proj.weight.double().t() + mha.out_proj.bias.double()


@pytest.mark.parametrize("rotary", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_matches_reference(rotary, padded):
    torch.manual_seed(0)
    mha = FlashMHA(nhead=4, d_model=32, rotary=rotary).eval()
    x = torch.randn(4, 12, 32)
    padding = _padding(LENGTHS, 12) if padded else None
    out, attn = mha(x, x, x, key_padding_mask=padding)
    ref = reference_attention(mha, x, padding)
    assert attn is None
    for b, length in enumerate(LENGTHS):
        n = length if padded else 12
        torch.testing.assert_close(
            out[b, :n].double(), ref[b, :n], atol=1e-5, rtol=1e-4
        )


def test_batch_equals_single():
    torch.manual_seed(1)
    mha = FlashMHA(nhead=2, d_model=16, rotary=True).eval()
    x = torch.randn(4, 12, 16)
    out, _ = mha(x, key_padding_mask=_padding(LENGTHS, 12))
    for b, length in enumerate(LENGTHS):
        alone, _ = mha(x[b : b + 1, :length])
        torch.testing.assert_close(
            out[b : b + 1, :length], alone, atol=1e-5, rtol=1e-5
        )


def test_all_padding_row_is_finite():
    mha = FlashMHA(nhead=2, d_model=8).eval()
    x = torch.randn(2, 4, 8)
    out, _ = mha(x, key_padding_mask=_padding([4, 0], 4))
    assert torch.isfinite(out).all()


def test_attn_mask_follows_speechbrain_convention():
    """attn_mask True = not allowed: a causal mask = prefix attention."""
    torch.manual_seed(2)
    mha = FlashMHA(nhead=2, d_model=8).eval()
    x = torch.randn(1, 5, 8)
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    out, _ = mha(x, attn_mask=causal)
    for t in range(5):
        prefix, _ = mha(x[:, : t + 1])
        torch.testing.assert_close(out[:, t], prefix[:, t], atol=1e-5, rtol=0)


def test_cross_attention_projections():
    torch.manual_seed(3)
    mha = FlashMHA(nhead=2, d_model=8).eval()
    x = torch.randn(2, 5, 8)
    same, _ = mha(x, x, x)
    cloned, _ = mha(x, x.clone(), x.clone())  # separate-projection path
    torch.testing.assert_close(same, cloned, atol=1e-6, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend"):
        FlashMHA(2, 8, backend="fastest")
    with pytest.raises(ValueError, match="divide"):
        FlashMHA(3, 8)


# --- GPU only: run on the device machine (skipped on CPU) ---------------


@requires_cuda
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("rotary", [False, True])
def test_gpu_half_matches_reference(dtype, rotary):
    torch.manual_seed(0)
    mha = FlashMHA(nhead=12, d_model=768, rotary=rotary).cuda().eval()
    lengths = [1000, 731, 500, 77]
    x = torch.randn(4, 1000, 768, device="cuda")
    padding = _padding(lengths, 1000, "cuda")
    ref = reference_attention(mha, x, padding)
    with torch.autocast("cuda", dtype=dtype):
        out, _ = mha(x, key_padding_mask=padding)
    for b, n in enumerate(lengths):
        err = (out[b, :n].double() - ref[b, :n]).norm() / ref[b, :n].norm()
        assert err < 1e-2, (b, float(err))


@requires_cuda
@pytest.mark.parametrize(
    "backend, padded",
    [("flash", False), ("cudnn", False), ("cudnn", True)],
)
def test_gpu_fused_backend_really_runs(backend, padded):
    """Only the intended backend is enabled: no silent fallback."""
    torch.manual_seed(0)
    mha = FlashMHA(nhead=12, d_model=768, backend=backend).cuda().eval()
    x = torch.randn(4, 512, 768, device="cuda")
    padding = _padding([512, 300, 200, 10], 512, "cuda") if padded else None
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out, _ = mha(x, key_padding_mask=padding)  # raises if no kernel
    ref = reference_attention(mha, x, padding)
    n = 10 if padded else 512
    err = (out[3, :n].double() - ref[3, :n]).norm() / ref[3, :n].norm()
    assert err < 1e-2


@requires_cuda
def test_gpu_auto_does_not_use_math_kernel():
    """backend='auto' on a padded bf16 batch must not need the math path."""
    mha = FlashMHA(nhead=12, d_model=768).cuda().eval()
    x = torch.randn(2, 256, 768, device="cuda")
    padding = _padding([256, 100], 256, "cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        # auto tries cuDNN first, and gives what cuDNN alone gives.
        backends, _ = mha._sdpa_backends(x, padding)
        assert backends[0] == SDPBackend.CUDNN_ATTENTION
        strict = FlashMHA(nhead=12, d_model=768, backend="cudnn").cuda()
        strict.load_state_dict(mha.state_dict())
        a, _ = mha(x, key_padding_mask=padding)
        b, _ = strict.eval()(x, key_padding_mask=padding)
    torch.testing.assert_close(a, b)
