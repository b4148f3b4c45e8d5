"""Exact multi-head self-attention on fused kernels.

SpeechBrain's ``MultiheadAttention`` calls ``torch.nn.MultiheadAttention``
with ``need_weights=True`` (never fused), and ``RoPEMHA`` hands SDPA a dense
(B, H, T, T) mask whenever there is padding, which rules out the fused
kernels. :class:`FlashMHA` keeps SpeechBrain's attention signature and
gives SDPA at most a (B, 1, 1, T) key-padding mask.

Kernel choice on CUDA in half precision (measured on an H100, torch 2.11,
see shared FACTS.md section 2): SDPA's flash backend has no kernel for a
key-padding mask, while its cuDNN backend takes a (B, 1, 1, T) boolean mask
at about the flash backend's speed. So ``backend="auto"`` uses:

* the ``flash-attn`` package, when it is installed (varlen kernel on the
  unpadded frames for a padded batch);
* otherwise SDPA, preferring flash (no padding) or cuDNN (padding), then
  the memory-efficient kernel, then the math kernel.

On CPU SDPA picks its own (math or flash-CPU) kernel, which is exact.

Authors
-------
* summary_ssl contributors 2026
"""

import importlib.util

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from summary_ssl.nnet.rotary import RotaryEmbedding

_SDPA_BACKENDS = {
    "flash": SDPBackend.FLASH_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "math": SDPBackend.MATH,
}
BACKENDS = ("auto", "flash_attn") + tuple(_SDPA_BACKENDS)
HAS_FLASH_ATTN = importlib.util.find_spec("flash_attn") is not None


class FlashMHA(nn.Module):
    """Multi-head self-attention through fused attention kernels.

    Arguments
    ---------
    nhead : int
        Number of heads.
    d_model : int
        Model size; ``d_model / nhead`` is the head size.
    dropout : float
        Attention-probability dropout (training only).
    bias : bool
        Biases in the input and output projections.
    rotary : bool
        Rotary position embeddings on queries and keys.
    rotary_base : float
        Frequency base of the rotary embeddings.
    backend : str
        ``auto`` (see the module docstring), ``flash_attn`` (the optional
        package) or one SDPA backend alone: ``flash``, ``cudnn``,
        ``efficient``, ``math``. A single backend is strict: if it has no
        kernel for the inputs, PyTorch raises instead of falling back.

    Example
    -------
    >>> mha = FlashMHA(nhead=4, d_model=32, rotary=True)
    >>> x = torch.rand(3, 10, 32)
    >>> padding = torch.arange(10)[None, :] >= torch.tensor([[10], [6], [3]])
    >>> out, attn = mha(x, x, x, key_padding_mask=padding)
    >>> out.shape, attn
    (torch.Size([3, 10, 32]), None)
    """

    def __init__(
        self,
        nhead,
        d_model,
        dropout=0.0,
        bias=True,
        rotary=False,
        rotary_base=10000.0,
        backend="auto",
    ):
        super().__init__()
        if d_model % nhead:
            raise ValueError(
                f"nhead={nhead} must divide d_model={d_model} for FlashMHA"
            )
        if backend not in BACKENDS:
            raise ValueError(
                f"Unknown FlashMHA backend {backend!r}; valid: {BACKENDS}"
            )
        if backend == "flash_attn" and not HAS_FLASH_ATTN:
            raise ValueError(
                "backend='flash_attn' needs the flash-attn package; install "
                "it or use backend='auto'"
            )
        self.nhead = nhead
        self.d_model = d_model
        self.head_dim = d_model // nhead
        self.dropout = dropout
        self.backend = backend
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.rotary = (
            RotaryEmbedding(self.head_dim, rotary_base) if rotary else None
        )

    def _project(self, query, key, value):
        """Returns q, k, v as (B, T, H, head_dim)."""
        B, T, _ = query.shape
        if key is None or (key is query and value is query):
            qkv = self.in_proj(query).view(B, T, 3, self.nhead, self.head_dim)
            return qkv.unbind(dim=2)
        w = self.in_proj.weight.chunk(3, dim=0)
        b = (
            self.in_proj.bias.chunk(3)
            if self.in_proj.bias is not None
            else (None,) * 3
        )
        value = key if value is None else value
        return tuple(
            F.linear(x, wi, bi).view(x.shape[0], x.shape[1], self.nhead, -1)
            for x, wi, bi in zip((query, key, value), w, b)
        )

    def forward(
        self,
        query,
        key=None,
        value=None,
        attn_mask=None,
        key_padding_mask=None,
        pos_embs=None,
    ):
        """Computes softmax(q k^T / sqrt(d)) v per head.

        Arguments
        ---------
        query : torch.Tensor
            (B, L, d_model)
        key : torch.Tensor, optional
            (B, S, d_model); defaults to ``query``.
        value : torch.Tensor, optional
            (B, S, d_model); defaults to ``key``.
        attn_mask : torch.Tensor, optional
            (L, S) boolean, True where attention is NOT allowed (SpeechBrain
            and ``torch.nn.MultiheadAttention`` convention). Forces a dense
            mask, so avoid it where speed matters.
        key_padding_mask : torch.Tensor, optional
            (B, S) boolean, True = padding. Pass None for an unpadded batch:
            no mask at all is what lets SDPA pick its flash kernel.
        pos_embs : torch.Tensor, optional
            Ignored (use ``rotary=True`` for positions).

        Returns
        -------
        output : torch.Tensor
            (B, L, d_model)
        attention : None
            Fused kernels do not return attention weights.
        """
        q, k, v = self._project(query, key, value)  # (B, T, H, hd)
        use_flash_attn = (
            self.backend == "flash_attn"
            or (self.backend == "auto" and HAS_FLASH_ATTN)
        ) and _flash_attn_ok(q, attn_mask)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, hd)
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        dropout_p = self.dropout if self.training else 0.0
        if use_flash_attn:
            out = _flash_attn(q, k, v, key_padding_mask, dropout_p)
        else:
            mask = _sdpa_mask(key_padding_mask, attn_mask)
            with sdpa_kernel(*self._sdpa_backends(q, mask)):
                out = F.scaled_dot_product_attention(
                    q, k, v, attn_mask=mask, dropout_p=dropout_p
                )
        B, H, L, hd = out.shape
        out = out.transpose(1, 2).reshape(B, L, H * hd)
        return self.out_proj(out), None

    def _sdpa_backends(self, q, mask):
        """(backends, set_priority) for ``sdpa_kernel``."""
        if self.backend in _SDPA_BACKENDS:
            return [_SDPA_BACKENDS[self.backend]], False
        if q.device.type != "cuda":
            return list(_SDPA_BACKENDS.values()), False
        first = "flash" if mask is None else "cudnn"
        order = [first] + [b for b in _SDPA_BACKENDS if b != first]
        return [_SDPA_BACKENDS[b] for b in order], True


def _sdpa_mask(key_padding_mask, attn_mask):
    """SDPA boolean mask (True = may attend), as small as possible."""
    mask = None
    if key_padding_mask is not None:
        valid = ~key_padding_mask.bool()
        # An all-padding row would softmax over nothing (NaN): let it see
        # its first frame; its outputs are padding and ignored anyway.
        # (Branch-free, so no host-device sync.)
        valid[:, 0] |= ~valid.any(dim=1)
        mask = valid[:, None, None, :]  # (B, 1, 1, S)
    if attn_mask is not None:
        allowed = ~attn_mask.bool()
        allowed = allowed.view(1, 1, *allowed.shape[-2:])
        mask = allowed if mask is None else mask & allowed
    return mask


def _flash_attn_ok(q, attn_mask):
    """Whether the flash-attn package can run these inputs."""
    return (
        q.is_cuda
        and q.dtype in (torch.float16, torch.bfloat16)
        and attn_mask is None
    )


def _flash_attn(q, k, v, key_padding_mask, dropout_p):
    """Attention through the flash-attn package; (B, H, T, hd) in and out.

    A padded batch is packed (real frames only) and run through the varlen
    kernel, so padding costs no attention FLOPs.
    """
    from flash_attn import flash_attn_func, flash_attn_varlen_func

    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, T, H, hd)
    if key_padding_mask is None:
        return flash_attn_func(q, k, v, dropout_p=dropout_p).transpose(1, 2)
    B, T, H, hd = q.shape
    valid = ~key_padding_mask.bool()
    lengths = valid.sum(dim=1, dtype=torch.int32)
    cu_seqlens = F.pad(lengths.cumsum(0, dtype=torch.int32), (1, 0))
    index = valid.flatten().nonzero().squeeze(1)
    packed = [t.reshape(B * T, H, hd)[index] for t in (q, k, v)]
    max_len = int(lengths.max())
    out_packed = flash_attn_varlen_func(
        *packed,
        cu_seqlens_q=cu_seqlens,
        cu_seqlens_k=cu_seqlens,
        max_seqlen_q=max_len,
        max_seqlen_k=max_len,
        dropout_p=dropout_p,
    )
    out = out_packed.new_zeros(B * T, H, hd).index_copy_(0, index, out_packed)
    return out.view(B, T, H, hd).transpose(1, 2)
