"""SummaryMixing: a linear-time drop-in replacement for self-attention.

Each frame ``x_t`` gets a local projection ``f(x_t)`` and the utterance
gets one summary ``s_bar``, the mean of a summary projection ``s(x_t)``
over its real (non-padded) frames. The output is a combination of both
(Parcollet et al. 2023, arXiv 2307.07421, Eq. 1; Zhang et al. 2024,
arXiv 2407.13377)::

    f_t   = f(x_t)                                  (local branch, Eq. 1b)
    s_bar = 1/T_real * sum_{t real} s(x_t)          (summary, Eq. 1c, 2)
    h_t   = act(W [dropout(f_t); dropout(s_bar)])   (combiner, Eq. 1a)

``f`` and ``s`` are MLPs whose linears are split into ``nhead`` diagonal
blocks, each followed by ``activation``. Optional LayerNorms are applied to
``f_t`` and ``s_bar``. The variants, as the reference defines them:

* ``SummaryMixing-lite``: the output is ``s_bar`` alone (no local branch,
  no combiner, no LayerNorm);
* ``SummaryMixing-fast``: one dense (not per-head) projection
  ``act(W x_t)`` of size ``2 * local_proj_out_dim``, whose first half is
  ``f_t`` and whose second half is averaged into ``s_bar``; no hidden
  layers and no LayerNorms;
* ``SummaryMixing-expdecay``: as the full cell, with each frame's summary
  an exponentially decaying windowed mean (quadratic in time).

Implementation notes (behaviour, not speed, is what the reference
implementation defines; none of its code is used here):

* the first layers of both branches read the same input, so they run as
  one grouped matrix product whose output is split;
* ``W [f; s_bar] = W_f f + W_s s_bar``: ``W_s s_bar`` is computed once per
  utterance and broadcast over time, so the summary is never repeated
  ``T`` times nor concatenated;
* the combiner maps back to ``enc_dim`` (the reference maps to
  ``summary_out_dim``, which its recipes always set equal to ``enc_dim``).

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn

from summary_ssl.nnet.grouped_linear import GroupedLinear

MODES = (
    "SummaryMixing",
    "SummaryMixing-lite",
    "SummaryMixing-fast",
    "SummaryMixing-expdecay",
)


class SummaryMixing(nn.Module):
    """SummaryMixing with SpeechBrain's attention call signature.

    Arguments
    ---------
    enc_dim : int
        Feature size of the input and of the output.
    nhead : int
        Number of diagonal blocks ("heads") in each branch projection.
    local_proj_hid_dim : list of int
        Hidden layer sizes of the local branch ``f``.
    local_proj_out_dim : int
        Output size of the local branch.
    summary_hid_dim : list of int
        Hidden layer sizes of the summary branch ``s``.
    summary_out_dim : int
        Output size of the summary branch. In ``SummaryMixing-lite`` mode
        the summary is the output, so it must equal ``enc_dim``.
    activation : type
        Activation class applied after every branch layer and the combiner.
    global_dropout : float
        Dropout on the combiner's inputs (per frame on ``f_t``, per
        utterance on ``s_bar``).
    mode : str
        ``SummaryMixing`` (full), ``SummaryMixing-lite`` (the output is the
        summary alone), ``SummaryMixing-fast`` (one dense projection of
        size ``2 * local_proj_out_dim`` split into local and summary halves;
        hidden sizes, heads and LayerNorms are not used) or
        ``SummaryMixing-expdecay`` (each frame's summary is a mean weighted
        by ``decay_constant ** |t - t'|``; quadratic in time).
    use_layernorm : bool
        LayerNorm on ``f_t`` and on ``s_bar`` (full and expdecay modes
        only; the reference never applies them in the lite and fast
        modes).
    decay_constant : float
        Decay per frame for ``SummaryMixing-expdecay``.

    Example
    -------
    >>> mixer = SummaryMixing(enc_dim=16, nhead=4, local_proj_hid_dim=[16],
    ...                       local_proj_out_dim=16, summary_hid_dim=[16],
    ...                       summary_out_dim=16)
    >>> x = torch.rand(3, 10, 16)
    >>> padding = torch.arange(10)[None, :] >= torch.tensor([[10], [7], [4]])
    >>> out, attn = mixer(x, x, x, key_padding_mask=padding)
    >>> out.shape, attn
    (torch.Size([3, 10, 16]), None)
    """

    def __init__(
        self,
        enc_dim,
        nhead=1,
        local_proj_hid_dim=(512,),
        local_proj_out_dim=512,
        summary_hid_dim=(1024,),
        summary_out_dim=1024,
        activation=nn.GELU,
        global_dropout=0.1,
        mode="SummaryMixing",
        use_layernorm=True,
        decay_constant=0.995,
    ):
        super().__init__()
        if mode not in MODES:
            raise ValueError(
                f"Unknown SummaryMixing mode {mode!r}; valid: {MODES}"
            )
        self.mode = mode
        self.enc_dim = enc_dim
        self.decay_constant = decay_constant
        groups = nhead
        if mode == "SummaryMixing-fast":
            local_dims = [local_proj_out_dim]
            summary_dims = [local_proj_out_dim]
            use_layernorm = False
            groups = 1  # one dense projection, as the reference
        else:
            local_dims = list(local_proj_hid_dim) + [local_proj_out_dim]
            summary_dims = list(summary_hid_dim) + [summary_out_dim]
        if mode == "SummaryMixing-lite":
            local_dims = []
            use_layernorm = False  # the reference's lite has no LayerNorm
            if summary_dims[-1] != enc_dim:
                raise ValueError(
                    "SummaryMixing-lite outputs the summary itself: "
                    f"summary_out_dim ({summary_dims[-1]}) must equal "
                    f"enc_dim ({enc_dim})"
                )
        for dim in local_dims + summary_dims:
            if dim % groups:
                raise ValueError(
                    f"nhead={nhead} must divide every branch size, got {dim}"
                )
        self.activation = activation()
        self.local_first_dim = local_dims[0] if local_dims else 0
        # One grouped product for both branches' first layers. Its output
        # is laid out per head as [local_g, summary_g], see _split_heads.
        self.nhead = nhead
        self.groups = groups
        self.input_proj = GroupedLinear(
            enc_dim, self.local_first_dim + summary_dims[0], groups=groups
        )
        self.local_layers = self._stack(local_dims, groups)
        self.summary_layers = self._stack(summary_dims, groups)
        self.local_norm = self.summary_norm = None
        if use_layernorm and local_dims:
            self.local_norm = nn.LayerNorm(local_dims[-1])
        if use_layernorm:
            self.summary_norm = nn.LayerNorm(summary_dims[-1])
        self.dropout = nn.Dropout(global_dropout)
        if local_dims:
            self.combine_local = nn.Linear(local_dims[-1], enc_dim)
            self.combine_summary = nn.Linear(
                summary_dims[-1], enc_dim, bias=False
            )
            nn.init.zeros_(self.combine_local.bias)  # as every bias here

    @staticmethod
    def _stack(dims, nhead):
        """Grouped linears after the (fused) first layer of a branch."""
        return nn.ModuleList(
            GroupedLinear(d_in, d_out, groups=nhead)
            for d_in, d_out in zip(dims[:-1], dims[1:])
        )

    def _split_heads(self, y):
        """Splits the fused first-layer output into (local, summary)."""
        if self.local_first_dim == 0:
            return None, y
        lead = y.shape[:-1]
        y = y.reshape(*lead, self.groups, -1)
        local_g = self.local_first_dim // self.groups
        local, summary = y[..., :local_g], y[..., local_g:]
        return local.reshape(*lead, -1), summary.reshape(*lead, -1)

    def _branch(self, h, layers):
        for layer in layers:
            h = self.activation(layer(h))
        return h

    def forward(
        self,
        query,
        key=None,
        value=None,
        attn_mask=None,
        key_padding_mask=None,
        pos_embs=None,
    ):
        """Mixes the frames of ``query``.

        Arguments
        ---------
        query : torch.Tensor
            (B, T, enc_dim). ``key`` and ``value`` are accepted for signature
            compatibility with attention and ignored: mixing is self-mixing.
        key : torch.Tensor, optional
            Ignored.
        value : torch.Tensor, optional
            Ignored.
        attn_mask : torch.Tensor, optional
            (T, T) boolean, True where frame ``t`` may NOT use frame ``t'``
            (SpeechBrain/PyTorch convention). Each frame then gets its own
            summary over the frames it may use (quadratic cost).
        key_padding_mask : torch.Tensor, optional
            (B, T) boolean, True = padding. Padded frames never enter a
            summary.
        pos_embs : torch.Tensor, optional
            Ignored (SummaryMixing uses no positions).

        Returns
        -------
        output : torch.Tensor
            (B, T, enc_dim)
        attention : None
            There are no attention weights.
        """
        x = query
        local, summary = self._split_heads(self.input_proj(x))
        summary = self._branch(self.activation(summary), self.summary_layers)
        summary = self._summarise(summary, key_padding_mask, attn_mask)
        if self.summary_norm is not None:
            summary = self.summary_norm(summary)
        if local is None:  # lite: the output is the summary itself
            return summary.expand(x.shape[0], x.shape[1], -1), None
        local = self._branch(self.activation(local), self.local_layers)
        if self.local_norm is not None:
            local = self.local_norm(local)
        # W [f; s] = W_f f + W_s s, with W_s s once per utterance (B, 1, D)
        # broadcast over time when the summary is utterance-level.
        mixed = self.combine_local(self.dropout(local))
        mixed = mixed + self.combine_summary(self.dropout(summary))
        return self.activation(mixed), None

    def _summarise(self, s, key_padding_mask, attn_mask):
        """Mean of ``s`` over real frames: (B, 1, D), or (B, T, D) when
        each frame has its own window (attn_mask or expdecay)."""
        B, T, _ = s.shape
        if key_padding_mask is None:
            valid = s.new_ones(B, T)
        else:
            valid = (~key_padding_mask.bool()).to(s.dtype)
        if attn_mask is None and self.mode != "SummaryMixing-expdecay":
            # (B, 1, T) @ (B, T, D): a masked sum without a (B, T, D) temp.
            total = torch.bmm(valid.unsqueeze(1), s)
            count = valid.sum(dim=1).clamp_min(1.0)
            return total / count.view(B, 1, 1)
        weights = self._frame_weights(T, s.device, s.dtype, attn_mask)
        weights = weights.unsqueeze(0) * valid.unsqueeze(1)  # (B, T, T)
        total = torch.bmm(weights, s)
        count = weights.sum(dim=-1, keepdim=True).clamp_min(
            torch.finfo(s.dtype).tiny
        )
        return total / count

    def _frame_weights(self, T, device, dtype, attn_mask):
        """(T, T) weights of frame t' in frame t's summary."""
        weights = torch.ones(T, T, device=device, dtype=dtype)
        if self.mode == "SummaryMixing-expdecay":
            pos = torch.arange(T, device=device)
            dist = (pos[None, :] - pos[:, None]).abs().to(dtype)
            weights = self.decay_constant**dist
        if attn_mask is not None:
            weights = weights.masked_fill(attn_mask.bool(), 0.0)
        return weights
