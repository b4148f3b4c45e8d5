"""Analytic FLOPs of the modules a recipe builds, forward and backward.

Counted as ``torch.utils.flop_counter`` counts: 2 FLOPs per multiply-add of
matrix products and convolutions (bias adds, norms, activations, softmax,
the FFT of the filterbanks and casts are not counted). Each module type
has a formula; :class:`FlopHooks` applies them to a forward pass (run on
fake tensors by :mod:`summary_ssl.budget.probe`, so it costs no compute)
from the shapes each module really sees, so the count follows whatever
the YAML builds. Where a module multiplies matrices outside its child
modules (attention scores, SummaryMixing's mean, projections applied
through ``F.linear``), its formula adds those products.

Backward: a matrix product ``y = x W`` costs one more product for the
gradient of each operand that needs it: so 2x the forward in the middle
of the network, 1x where the input needs no gradient (the first
convolution on the filterbanks, the position projection of
``RelPosMHAXL``, the masked mean whose weights are constants), 0x for the
filterbank product. Attention backward counts 2x its forward: these are
the model's useful FLOPs (what MFU divides); fused GPU kernels recompute
the scores on top (torch's counter then says 2.5x).

A parameter of two or more dimensions that no formula covers raises an
error: a new module type needs a formula before it can be costed.

:func:`flop_counter` is no second model: it is torch's counter of the
operations a step executes (with its grouped-convolution gradient
corrected), which the tests check these formulas against and the step
benchmark measures executed FLOPs with.

Authors
-------
* summary_ssl contributors 2026
"""

import collections
import math

import torch
import torch.nn as nn
from speechbrain.nnet.attention import RelPosMHAXL, RoPEMHA
from speechbrain.nnet.hypermixing import HyperMixing, ParallelMLPs
from speechbrain.nnet.quantisers import GumbelVectorQuantizer
from speechbrain.processing.features import Filterbank
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count

from summary_ssl.lobes.frontends.fbank import DeviceFbank
from summary_ssl.nnet.attention import FlashMHA
from summary_ssl.nnet.grouped_linear import GroupedLinear
from summary_ssl.nnet.summary_mixing import SummaryMixing


def _needs(*tensors):
    """Number of operands that need a gradient (0, 1 or 2)."""
    return sum(int(bool(t is not None and t.requires_grad)) for t in tensors)


def _product(rows, n_in, n_out, x, weight):
    """(forward, backward) of ``rows`` rows times an (n_in, n_out) weight."""
    forward = 2 * rows * n_in * n_out
    return forward, forward * _needs(x, weight)


def _first(args, kwargs, name):
    return args[0] if args else kwargs[name]


# -- leaf layers: the module's own parameters, from the shapes it sees --


def _linear(module, args, kwargs, out):
    x = _first(args, kwargs, "input")
    rows = x.numel() // module.in_features
    return _product(
        rows, module.in_features, module.out_features, x, module.weight
    )


def _grouped_linear(module, args, kwargs, out):
    x = _first(args, kwargs, "x")
    rows = x.numel() // module.in_features
    forward = 2 * rows * module.in_features * module.out_features
    forward //= module.groups
    return forward, forward * _needs(x, module.weight)


def _conv(module, args, kwargs, out):
    x = _first(args, kwargs, "input")
    per_output = (module.in_channels // module.groups) * math.prod(
        module.kernel_size
    )
    forward = 2 * out.numel() * per_output
    return forward, forward * _needs(x, module.weight)


def _filterbank(module, args, kwargs, out):
    spectrogram = _first(args, kwargs, "spectrogram")
    n_stft, n_mels = spectrogram.shape[-1], out.shape[-1]
    rows = spectrogram.numel() // n_stft
    forward = 2 * rows * n_stft * n_mels
    weights_learnt = any(p.requires_grad for p in module.parameters())
    return forward, forward * (_needs(spectrogram) + int(weights_learnt))


def _device_fbank(module, args, kwargs, out):
    """``DeviceFbank``: the spectrogram times its stored filter matrix (its
    ``Filterbank`` child is not called)."""
    n_stft, n_mels = module.mel_matrix.shape
    rows = out.numel() // n_mels
    forward = 2 * rows * n_stft * n_mels
    return forward, forward * _needs(_first(args, kwargs, "wav"))


def _parallel_mlps(module, args, kwargs, out):
    """SpeechBrain's ``ParallelMLPs`` (HyperMixing): two per-head einsums."""
    x = _first(args, kwargs, "x")
    rows = x.numel() // module.original_in_size
    forward = (
        2 * rows * (module.fc1_weights.numel() + module.fc2_weights.numel())
    )
    return forward, 2 * forward if x.requires_grad else forward


# -- sequence mixers: products outside their child modules ---------------


def _self_attention_scores(batch, q_len, k_len, d_qk, d_v, x):
    """QK^T and AV of multi-head attention (any number of heads)."""
    forward = 2 * batch * q_len * k_len * (d_qk + d_v)
    return forward, 2 * forward if x.requires_grad else 0


def _in_projection(batch, length, d_in, d_out, x, weight):
    return _product(batch * length, d_in, d_out, x, weight)


def _add(*terms):
    return tuple(sum(parts) for parts in zip(*terms))


def _flash_mha(module, args, kwargs, out):
    q = _first(args, kwargs, "query")
    key = args[1] if len(args) > 1 else kwargs.get("key")
    k_len = q.shape[1] if key is None else key.shape[1]
    d = module.d_model
    return _self_attention_scores(q.shape[0], q.shape[1], k_len, d, d, q)


def _rope_mha(module, args, kwargs, out):
    q = _first(args, kwargs, "query")
    B, T, d = q.shape
    return _add(
        _in_projection(B, T, d, 3 * d, q, module.in_proj_weight),
        _self_attention_scores(B, T, T, d, module.vdim, q),
    )


def _rel_pos_mha(module, args, kwargs, out):
    """SpeechBrain's ``RelPosMHAXL``: in-projection through ``F.linear``,
    content scores, position scores against the 2T-1 projected relative
    positions (``linear_pos``, a child module), then AV."""
    q = _first(args, kwargs, "query")
    pos = args[3] if len(args) > 3 else kwargs["pos_embs"]
    B, T, d = q.shape
    forward = 2 * B * T * pos.shape[1] * d  # (q + v) p^T, before rel_shift
    return _add(
        _in_projection(B, T, d, 3 * d, q, module.in_proj_weight),
        _self_attention_scores(B, T, T, d, module.vdim, q),
        (forward, 2 * forward if q.requires_grad else 0),
    )


def _torch_mha(module, args, kwargs, out):
    """``torch.nn.MultiheadAttention`` (SpeechBrain's ``regularMHA``): every
    projection runs through ``F.linear`` inside the module, ``out_proj``
    included, so nothing of it is counted elsewhere."""
    q = _first(args, kwargs, "query")
    key = args[1] if len(args) > 1 else kwargs["key"]
    time_dim = 1 if module.batch_first else 0
    batch = q.shape[1 - time_dim]
    q_len, k_len = q.shape[time_dim], key.shape[time_dim]
    d = module.embed_dim
    if module._qkv_same_embed_dim:
        weights = [module.in_proj_weight] * 3
    else:
        weights = [module.q_proj_weight, module.k_proj_weight]
        weights.append(module.v_proj_weight)
    terms = [
        _in_projection(batch, q_len, d, d, q, weights[0]),
        _in_projection(batch, k_len, module.kdim, d, q, weights[1]),
        _in_projection(batch, k_len, module.vdim, d, q, weights[2]),
        _self_attention_scores(batch, q_len, k_len, d, d, q),
        _in_projection(batch, q_len, d, d, q, module.out_proj.weight),
    ]
    return _add(*terms)


def _hypermixing(module, args, kwargs, out):
    """Token mixing with the generated weights: two batched products of
    (d / H, T) by (T, k) and back, per head (the hypernetwork's own
    products are ``ParallelMLPs`` children)."""
    q = _first(args, kwargs, "query")
    B, T, d = q.shape
    k = module.hyper.w1_gen.output_size  # generated hidden size per head
    forward = 2 * (2 * B * d * T * k)
    return forward, 2 * forward if q.requires_grad else 0


def _summary_mixing(module, args, kwargs, out):
    """The masked mean over frames: (B, 1, T) @ (B, T, S), or (B, T, T) @
    (B, T, S) when each frame has its own window (expdecay, attn_mask).
    Only the summaries need a gradient (the weights are constants)."""
    x = _first(args, kwargs, "query")
    B, T, _ = x.shape
    if module.summary_layers:
        summary_dim = module.summary_layers[-1].out_features
    else:
        summary_dim = module.input_proj.out_features - module.local_first_dim
    windows = (
        kwargs.get("attn_mask") is not None
        or module.mode == "SummaryMixing-expdecay"
    )
    forward = 2 * B * (T if windows else 1) * T * summary_dim
    return forward, forward if x.requires_grad else 0


# Module class -> formula; ``covers`` says which parameters a formula
# accounts for: its own (direct) parameters, or all of them when the
# module uses its children's weights without calling them.
FORMULAS = {
    nn.Linear: (_linear, "own"),
    nn.Conv1d: (_conv, "own"),
    nn.Conv2d: (_conv, "own"),
    GroupedLinear: (_grouped_linear, "own"),
    Filterbank: (_filterbank, "own"),
    DeviceFbank: (_device_fbank, "own"),
    ParallelMLPs: (_parallel_mlps, "own"),
    FlashMHA: (_flash_mha, "own"),
    RoPEMHA: (_rope_mha, "own"),
    RelPosMHAXL: (_rel_pos_mha, "own"),
    nn.MultiheadAttention: (_torch_mha, "all"),
    HyperMixing: (_hypermixing, "own"),
    SummaryMixing: (_summary_mixing, "own"),
}


def _formula(module):
    for cls in type(module).__mro__:
        if cls in FORMULAS:
            return FORMULAS[cls]
    return None


class FlopHooks:
    """Counts FLOPs of every module call inside ``model`` while active.

    Arguments
    ---------
    model : torch.nn.Module
        The module tree to count (e.g. the recipe's ``wav2vec2``).

    Example
    -------
    >>> import torch
    >>> lin = nn.Linear(4, 3)
    >>> with FlopHooks(lin) as hooks:
    ...     _ = lin(torch.randn(5, 4, requires_grad=True))
    >>> hooks.forward(), hooks.backward()  # 2*5*4*3; input + weight grads
    (120, 240)
    """

    def __init__(self, model):
        self.model = model
        self.flops = collections.defaultdict(lambda: [0, 0])  # name: fw, bw
        self.covered = set()
        self._handles = []

    def __enter__(self):
        for name, module in self.model.named_modules():
            entry = _formula(module)
            if entry is None:
                continue
            formula, covers = entry
            params = list(module.parameters(recurse=covers == "all"))
            # A parametrised weight (weight_norm) lives in the module's
            # ``parametrizations`` child; the formula reads ``weight``.
            lists = getattr(module, "parametrizations", None)
            if lists is not None:
                params += list(lists.parameters())
            self.covered.update(id(p) for p in params)
            self._handles.append(
                module.register_forward_hook(
                    self._hook(name, formula), with_kwargs=True
                )
            )
        return self

    def _hook(self, name, formula):
        def hook(module, args, kwargs, out):
            first = out[0] if isinstance(out, (tuple, list)) else out
            forward, backward = formula(module, args, kwargs, first)
            self.flops[name][0] += int(forward)
            self.flops[name][1] += int(backward)

        return hook

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def uncovered(self):
        """Names of matrix-shaped parameters no formula accounts for."""
        return [
            name
            for name, p in self.model.named_parameters()
            if p.dim() >= 2 and id(p) not in self.covered
        ]

    def forward(self, prefix=""):
        """Forward FLOPs of the modules whose name starts with ``prefix``."""
        return sum(f for n, (f, _) in self.flops.items() if _under(n, prefix))

    def backward(self, prefix=""):
        """Backward FLOPs of the modules whose name starts with ``prefix``."""
        return sum(b for n, (_, b) in self.flops.items() if _under(n, prefix))


def _under(name, prefix):
    return not prefix or name == prefix or name.startswith(prefix + ".")


def objective_flops(objective, num_masked, slots=None):
    """FLOPs of the wav2vec 2.0 objective for ``num_masked`` masked frames.

    The objective lays the masked frames of each utterance out in
    ``num_slots`` slots (``W2V2Objective``'s fixed shapes, see
    ``summary_ssl.lobes.augment.span_masking``) and works on every slot: its
    linears (quantiser logits, target and context projections), the
    codebook lookup (one-hot times codebook, a matrix product per group)
    and, per utterance, the (num_slots x num_slots) cosine similarities
    (one batched matrix product) from which each frame's positive and
    negatives are gathered. All are matrix products torch's counter sees,
    with inputs that need a gradient (backward = 2 x forward).

    Arguments
    ---------
    objective : torch.nn.Module
        A :class:`~summary_ssl.lobes.objectives.wav2vec2.W2V2Objective`.
    num_masked : int
        Masked frames in the batch.
    slots : tuple of int, optional
        ``(batch, num_slots)``; default ``(1, num_masked)``: one utterance
        whose slots are exactly its masked frames (the least work).

    Returns
    -------
    counted : tuple of int
        (forward, backward) of the matrix products.
    elementwise : int
        Forward FLOPs of large element-wise products torch's counter does
        not see: none left (0).

    Example
    -------
    >>> from summary_ssl.lobes.objectives.wav2vec2 import W2V2Objective
    >>> obj = W2V2Objective(16, 32, proj_dim=8, num_vars=10, num_negatives=4)
    >>> # 2*10*(16*20 + 8*8 + 32*8) + 2*10*(20*4) + 2*10*10*8, x2 back
    >>> objective_flops(obj, 10)
    ((16000, 32000), 0)
    """
    batch, per_utterance = slots if slots is not None else (1, num_masked)
    rows = batch * per_utterance
    forward = 0
    uncovered = []
    for name, module in objective.named_modules():
        if isinstance(module, nn.Linear):
            forward += 2 * rows * module.in_features * module.out_features
        elif isinstance(module, GumbelVectorQuantizer):
            forward += 2 * rows * module.vars.numel()  # codebook lookup
        elif any(p.dim() >= 2 for p in module.parameters(recurse=False)):
            uncovered.append(name or type(module).__name__)
    if uncovered:
        raise ValueError(f"no FLOP formula for objective parts {uncovered}")
    proj = objective.final_proj.out_features
    forward += 2 * batch * per_utterance * per_utterance * proj
    return (forward, 2 * forward), 0


def conv_backward_flop(
    grad_out_shape,
    x_shape,
    w_shape,
    _bias,
    _stride,
    _padding,
    _dilation,
    transposed,
    _output_padding,
    _groups,
    output_mask,
    out_shape=None,
    **kwargs,
):
    """FLOPs of ``aten.convolution_backward``, grouped convolutions included.

    torch's own formula (torch 2.14) counts the weight gradient of a
    grouped convolution as if it were dense: for the Conformer's depthwise
    convolution (768 groups, kernel 31) 768 times too many, about a third
    of a whole Conformer step. Each of the input and weight gradients
    takes as many multiply-adds as the forward convolution, whose formula
    (``w_shape`` holds the channels per group) is right for grouped
    convolutions too.

    Example
    -------
    >>> # depthwise conv, 8 channels, kernel 3, 10 frames: 2*8*3*10 forward
    >>> conv_backward_flop([1, 8, 10], [1, 8, 12], [8, 1, 3], None, [1],
    ...                    [0], [1], False, [0], 8, [True, True])
    960
    """
    forward = conv_flop_count(
        x_shape, w_shape, grad_out_shape, transposed=transposed
    )
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def flop_counter():
    """torch's silent ``FlopCounterMode``, with :func:`conv_backward_flop`:
    a count of the matrix products, convolutions and SDPA (forward and
    backward) a step executes.

    Example
    -------
    >>> conv = torch.nn.Conv1d(8, 8, 3, groups=8)
    >>> x = torch.randn(1, 8, 12, requires_grad=True)
    >>> with flop_counter() as counter:
    ...     conv(x).sum().backward()
    >>> counter.get_total_flops()  # forward 480, input + weight grads 960
    1440
    """
    return FlopCounterMode(
        display=False,
        custom_mapping={
            torch.ops.aten.convolution_backward: conv_backward_flop
        },
    )
