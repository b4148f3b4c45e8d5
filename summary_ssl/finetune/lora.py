"""LoRA on an encoder's linear layers: add the adapters, then merge them.

LoRA (Hu et al. 2021, arXiv 2106.09685, Eq. 3) keeps a pretrained weight
``W`` frozen and learns a low-rank update beside it::

    h = W x + (alpha / r) * B A x        A: (r, in), B: (out, r), B = 0 at init

so the adapted model starts as the pretrained one. After training the
update folds into the weight, ``W' = W + (alpha / r) * B A``
(:func:`merge_lora`), and the merged model is the un-adapted architecture
again: its state dict loads into a freshly built encoder.

What is adapted. :func:`add_lora` wraps the ``torch.nn.Linear`` layers
with SpeechBrain's :class:`speechbrain.nnet.adapters.LoRA`, and this
project's block-diagonal :class:`~summary_ssl.nnet.grouped_linear.
GroupedLinear` (the SummaryMixing branch projections) with
:class:`GroupedLoRA`, whose update is block-diagonal too so that it merges
into the same block-diagonal weight. In a Conformer layer that reaches:

* both feed-forward modules (``ffn_module1.1``, ``ffn_module1.4``,
  ``ffn_module2.1``, ``ffn_module2.4``);
* the convolution module's pointwise linears (``convolution_module.
  pointwise_in``, ``convolution_module.after_conv.2``);
* SummaryMixing (every mode): ``mha_layer.input_proj``,
  ``mha_layer.local_layers.*``, ``mha_layer.summary_layers.*``,
  ``mha_layer.combine_local``, ``mha_layer.combine_summary``;
* FlashMHA: ``mha_layer.in_proj``, ``mha_layer.out_proj`` (the Conformer
  calls it as self-attention, the path that calls ``in_proj`` as a module);
* RelPosMHAXL: ``mha_layer.out_proj``, ``mha_layer.linear_pos``;
  RoPEMHA: ``mha_layer.out_proj``.

What cannot be adapted, and is listed in :attr:`LoRAReport.skipped` (a
target named exactly, without wildcards, raises a ValueError instead):

* the query/key/value weights of SpeechBrain's ``RelPosMHAXL`` and
  ``RoPEMHA`` (``in_proj_weight``: a raw parameter used through
  ``F.linear``), their ``pos_bias_u``/``pos_bias_v``, and HyperMixing's
  hypernetworks (raw parameters in ``ParallelMLPs``);
* ``regularMHA``: all of ``torch.nn.MultiheadAttention`` (its fused
  kernel reads the weights directly, as SpeechBrain's ``AdaptedModel``
  warns), so only its FFN and convolution linears are adapted;
* the depthwise convolutions (``groups`` = channels, which SpeechBrain's
  LoRA refuses) and the front end's convolutions.

Biases and LayerNorms are never adapted (as in the LoRA paper).

Authors
-------
* summary_ssl contributors 2026
"""

import copy
import dataclasses
import logging
from fnmatch import fnmatch

import torch
import torch.nn as nn
from speechbrain.nnet.adapters import LoRA, replace_module

from summary_ssl.nnet.grouped_linear import GroupedLinear

logger = logging.getLogger(__name__)

#: fnmatch patterns over the module names of a ``Wav2Vec2Encoder``: every
#: linear of the Conformer (or Transformer) layers; ``*`` matches dots too.
DEFAULT_TARGETS = ("encoder.layers.*",)

#: The names of the adapter layers inside a wrapper (SpeechBrain's names).
ADAPTER_NAMES = ("adapter_down_proj", "adapter_up_proj")


class GroupedLoRA(nn.Module):
    """LoRA for a block-diagonal :class:`GroupedLinear`.

    SpeechBrain's ``LoRA`` reads an ``(out, in)`` weight; a
    ``GroupedLinear`` stores ``(groups, in_g, out_g)``, and a dense
    low-rank update would not fold back into its block-diagonal weight.
    Here each of the ``groups`` blocks gets its own rank-``rank`` update
    (``down`` and ``up`` are themselves ``GroupedLinear`` layers), so the
    number of parameters is ``rank * (in + out)``, as a dense LoRA of the
    same rank, and the merge stays block-diagonal. With ``groups=1`` it is
    exactly SpeechBrain's LoRA. The attribute names are SpeechBrain's.

    Arguments
    ---------
    target_module : GroupedLinear
        The pretrained layer; its parameters are frozen.
    rank : int
        Rank of the update of each block.
    alpha : float
        The update is scaled by ``alpha / rank``.

    Example
    -------
    >>> base = GroupedLinear(8, 12, groups=4)
    >>> lora = GroupedLoRA(base, rank=2, alpha=4)
    >>> x = torch.rand(3, 5, 8)
    >>> torch.equal(lora(x), base(x))  # the update starts at zero
    True
    >>> lora.delta_weight().shape  # (groups, in_g, out_g), as base.weight
    torch.Size([4, 2, 3])
    """

    def __init__(self, target_module, rank=8, alpha=1.0):
        super().__init__()
        if not isinstance(target_module, GroupedLinear):
            raise ValueError(
                f"GroupedLoRA wraps a GroupedLinear, not {target_module}"
            )
        groups = target_module.groups
        self.pretrained_module = target_module
        target_module.requires_grad_(False)
        weight = target_module.weight
        self.adapter_down_proj = GroupedLinear(
            target_module.in_features, groups * rank, groups, bias=False
        ).to(weight)
        self.adapter_up_proj = GroupedLinear(
            groups * rank, target_module.out_features, groups, bias=False
        ).to(weight)
        nn.init.zeros_(self.adapter_up_proj.weight)
        self.scaling = alpha / rank

    def forward(self, x):
        """``pretrained(x) + scaling * up(down(x))``, (..., out)."""
        update = self.adapter_up_proj(self.adapter_down_proj(x))
        return self.pretrained_module(x) + update * self.scaling

    def delta_weight(self):
        """The update in the layout of the pretrained weight."""
        down = self.adapter_down_proj.weight  # (G, in_g, r)
        up = self.adapter_up_proj.weight  # (G, r, out_g)
        return torch.bmm(down, up) * self.scaling


@dataclasses.dataclass
class LoRAReport:
    """What :func:`add_lora` did.

    Attributes
    ----------
    adapted : list of str
        Names of the wrapped modules.
    skipped : dict
        Weight matrix (parameter name) -> why it is not adapted, for the
        matrices inside the targets that no wrapper reaches.
    """

    adapted: list
    skipped: dict


def _is_literal(pattern):
    """Whether a pattern names one module (no fnmatch wildcards)."""
    return not any(char in pattern for char in "*?[")


def _matches(name, patterns):
    """Whether ``name`` matches one of the fnmatch ``patterns``."""
    return any(fnmatch(name, pattern) for pattern in patterns)


def _why_not_adaptable(name, module, model):
    """None if ``module`` can be wrapped, else the reason."""
    if isinstance(module, GroupedLinear):
        return None
    if isinstance(module, nn.Linear):
        parent = model.get_submodule(name.rpartition(".")[0])
        if isinstance(parent, nn.MultiheadAttention):
            return (
                "inside torch.nn.MultiheadAttention, whose fused kernel "
                "reads the weights directly"
            )
        return None
    return f"a {type(module).__name__}, not an nn.Linear or GroupedLinear"


def find_lora_targets(model, targets=None):
    """The modules :func:`add_lora` would wrap, and the weights it can't.

    Arguments
    ---------
    model : torch.nn.Module
        Usually a ``Wav2Vec2Encoder``.
    targets : sequence of str, optional
        fnmatch patterns over module names (``*`` matches dots);
        ``DEFAULT_TARGETS`` when None. A module matched by a pattern is
        wrapped if it is an ``nn.Linear`` or a ``GroupedLinear``; other
        modules a wildcard matches (LayerNorms, containers, ...) are
        passed over.

    Returns
    -------
    LoRAReport

    Example
    -------
    >>> model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    >>> find_lora_targets(model, ["*"]).adapted
    ['0']
    >>> find_lora_targets(model, ["1"])
    Traceback (most recent call last):
    ...
    ValueError: LoRA target '1' is a LayerNorm, not an nn.Linear or ...
    """
    if isinstance(targets, str):
        raise ValueError(f"targets must be a list of patterns, not {targets}")
    patterns = tuple(DEFAULT_TARGETS if targets is None else targets)
    modules = dict(model.named_modules())
    for name, module in modules.items():
        if isinstance(module, (LoRA, GroupedLoRA)):
            raise ValueError(f"{name} already has LoRA; merge it first")
    reasons = {
        name: _why_not_adaptable(name, module, model)
        for name, module in modules.items()
        if name
    }
    for pattern in patterns:
        if _is_literal(pattern) and pattern in reasons and reasons[pattern]:
            raise ValueError(f"LoRA target {pattern!r} is {reasons[pattern]}")
        hits = [n for n, why in reasons.items() if fnmatch(n, pattern)]
        if not any(reasons[n] is None for n in hits):
            raise ValueError(
                f"LoRA target {pattern!r} matches no nn.Linear or "
                f"GroupedLinear (it matches {len(hits)} other modules)"
            )
    adapted = [
        name
        for name, why in reasons.items()
        if why is None and _matches(name, patterns)
    ]
    skipped = {}
    wrapped = set(adapted)
    for pname, param in model.named_parameters():
        owner = pname.rpartition(".")[0]
        if param.dim() < 2 or owner in wrapped:
            continue
        if not (_matches(owner, patterns) or _matches(pname, patterns)):
            continue
        if isinstance(modules[owner], (nn.Linear, GroupedLinear)):
            skipped[pname] = reasons[owner]
        else:
            skipped[pname] = (
                f"a parameter of {type(modules[owner]).__name__}, not the "
                "weight of an nn.Linear or GroupedLinear"
            )
    return LoRAReport(adapted=adapted, skipped=skipped)


def add_lora(model, rank=8, alpha=16, targets=None):
    """Freezes ``model`` and wraps its target linears with LoRA, in place.

    Every parameter of ``model`` stops requiring gradients; only the new
    adapters (``adapter_down_proj``, ``adapter_up_proj``) train.

    SpeechBrain's ``AdaptedModel`` is not used: it matches its patterns
    against every module (LayerNorms and containers included), takes a
    single adapter class (GroupedLinear needs :class:`GroupedLoRA`), and
    nests the model under ``adapted_model.``, which renames the state dict
    and hides attributes behind ``__getattr__``. Its ``LoRA`` and
    ``replace_module`` are used as they are.

    Arguments
    ---------
    model : torch.nn.Module
        Usually a ``Wav2Vec2Encoder``.
    rank : int
        LoRA rank (per block for a ``GroupedLinear``).
    alpha : float
        The updates are scaled by ``alpha / rank``.
    targets : sequence of str, optional
        See :func:`find_lora_targets`.

    Returns
    -------
    LoRAReport
        The adapted modules and the weights inside the targets that LoRA
        cannot reach (also logged).

    Example
    -------
    >>> model = nn.Sequential(GroupedLinear(8, 8, groups=2), nn.GELU(),
    ...                       nn.Linear(8, 4))
    >>> x = torch.rand(2, 8)
    >>> before = model(x)
    >>> add_lora(model, rank=2, targets=["*"]).adapted
    ['0', '2']
    >>> type(model[0]).__name__, type(model[2]).__name__
    ('GroupedLoRA', 'LoRA')
    >>> torch.equal(model(x), before)
    True
    >>> sum(p.numel() for p in model.parameters() if p.requires_grad)
    56
    """
    report = find_lora_targets(model, targets)
    model.requires_grad_(False)
    for name in report.adapted:
        module = model.get_submodule(name)
        wrapper = GroupedLoRA if isinstance(module, GroupedLinear) else LoRA
        replace_module(model, name, wrapper(module, rank=rank, alpha=alpha))
    logger.info(
        "LoRA (rank %d, alpha %s) on %d layers",
        rank,
        alpha,
        len(report.adapted),
    )
    if report.skipped:
        logger.info(
            "LoRA cannot adapt %d weight matrices in its targets: %s",
            len(report.skipped),
            "; ".join(f"{k} ({v})" for k, v in report.skipped.items()),
        )
    return report


def is_lora_parameter(name):
    """Whether a parameter name belongs to a LoRA adapter.

    Example
    -------
    >>> is_lora_parameter("encoder.layers.0.ffn_module1.1.adapter_up_proj"
    ...                   ".weight")
    True
    >>> is_lora_parameter("encoder.layers.0.ffn_module1.1.pretrained_module"
    ...                   ".weight")
    False
    """
    return any(f"{adapter}." in name for adapter in ADAPTER_NAMES)


def _linear_delta(lora):
    """SpeechBrain LoRA on an nn.Linear: ``scaling * B A``, (out, in)."""
    if not isinstance(lora.pretrained_module, nn.Linear):
        raise NotImplementedError(
            "merge_lora merges LoRA on nn.Linear and GroupedLinear only, "
            f"not on {type(lora.pretrained_module).__name__}"
        )
    up = lora.adapter_up_proj.weight  # (out, r)
    down = lora.adapter_down_proj.weight  # (r, in)
    return (up @ down) * lora.scaling


def merge_lora(model, inplace=False):
    """Folds every LoRA update into its weight; the wrappers disappear.

    ``W' = W + (alpha / r) * B A`` (for a ``GroupedLinear``, block by
    block). The result has the module tree and state-dict keys of the
    un-adapted model, so it loads into (and exports as) the original
    architecture. ``requires_grad`` flags are left as they were (the
    merged layers stay frozen).

    Arguments
    ---------
    model : torch.nn.Module
        A model with LoRA wrappers (from :func:`add_lora`).
    inplace : bool
        Merge into ``model`` itself; by default a deep copy is merged and
        ``model`` keeps training unchanged.

    Returns
    -------
    torch.nn.Module
        The merged model.

    Example
    -------
    >>> model = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 2))
    >>> fresh = copy.deepcopy(model)
    >>> _ = add_lora(model, rank=2, targets=["*"])
    >>> _ = nn.init.normal_(model[0].adapter_up_proj.weight)
    >>> merged = merge_lora(model)
    >>> x = torch.rand(4, 6)
    >>> torch.allclose(merged(x), model(x), atol=1e-6)
    True
    >>> fresh.load_state_dict(merged.state_dict())
    <All keys matched successfully>
    """
    merged = model if inplace else copy.deepcopy(model)
    wrappers = [
        (name, module)
        for name, module in merged.named_modules()
        if isinstance(module, (LoRA, GroupedLoRA))
    ]
    for name, wrapper in wrappers:
        base = wrapper.pretrained_module
        with torch.no_grad():
            if isinstance(wrapper, GroupedLoRA):
                delta = wrapper.delta_weight()
            else:
                delta = _linear_delta(wrapper)
            base.weight.add_(delta.to(base.weight.dtype))
        if name:
            replace_module(merged, name, base)
        else:
            merged = base
    return merged
