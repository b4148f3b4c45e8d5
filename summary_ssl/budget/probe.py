"""One training step of a recipe's model, run on fake tensors.

The recipe's model is built on fake tensors
(:class:`~summary_ssl.budget.recipe.Recipe`), so a forward pass of a
155M-parameter model on a full batch costs about a second and no memory.
One forward pass on a batch of the recipe's composition gives, from the
shapes each module sees:

* the FLOPs of every module (:class:`~summary_ssl.budget.flops.FlopHooks`);
* the activations kept for the backward pass: the bytes of every tensor
  autograd saves (``saved_tensors_hooks``), each storage counted once,
  parameters left out, under the recipe's autocast precision. CPU
  autocast stands in for CUDA's (both cast matrix products and
  convolutions to bf16/fp16), with CUDA's fp32 policy for norms and
  softmax added (:func:`gpu_autocast`).

FLOPs, parameters and saved bytes are also attributed to the encoder's
layer stack, so that a probe of a 1-layer model gives any depth
(:meth:`StepProbe.with_layers`; the layers are identical).

The objective's boolean indexing needs real data, so its saved bytes per
masked frame are measured on a real (meta-built, then materialised) copy
of the objective, on a few hundred masked frames.

Authors
-------
* summary_ssl contributors 2026
"""

import contextlib
import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F
from speechbrain.nnet.attention import RoPEMHA
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

from summary_ssl.budget.flops import FlopHooks, objective_flops
from summary_ssl.lobes.span_masking import compute_span_mask, span_bounds
from summary_ssl.nnet.attention import FlashMHA

AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


@dataclasses.dataclass
class StepProbe:
    """What one micro-batch of a recipe costs (see :func:`probe_step`)."""

    batch: int  # utterances
    utterance_seconds: float
    frames: int  # encoder frames per utterance
    masked_frames: int  # in the whole batch
    layers: int  # encoder layers of the probed model
    params: int  # model + objective
    model_params: int  # the exported encoder (front end + Conformer)
    layer_params: int  # one encoder layer
    forward: dict  # FLOPs by part: frontend, encoder_layers, other, objective
    backward: dict
    elementwise_flops: int  # objective products torch does not count
    layerdrop: float  # probability of skipping an encoder layer
    activation_bytes: int  # saved for backward: model + objective
    layer_activation_bytes: int  # one encoder layer's share
    objective_bytes: int  # the objective's share

    @property
    def audio_seconds(self):
        """Audio in the micro-batch."""
        return self.batch * self.utterance_seconds

    def step_flops(self, expected=True):
        """Forward + backward FLOPs of the micro-batch; ``expected``
        scales the encoder layers by ``1 - layerdrop``."""
        total = 0.0
        for part in self.forward:
            flops = self.forward[part] + self.backward[part]
            if expected and part == "encoder_layers":
                flops *= 1.0 - self.layerdrop
            total += flops
        return total

    def flops_per_audio_second(self, expected=True):
        """:meth:`step_flops` per second of audio."""
        return self.step_flops(expected) / self.audio_seconds

    def with_layers(self, layers):
        """The same step with ``layers`` identical encoder layers."""
        extra = layers - self.layers
        scale = layers / self.layers

        def scaled(flops):
            return {
                part: value * scale if part == "encoder_layers" else value
                for part, value in flops.items()
            }

        return dataclasses.replace(
            self,
            layers=layers,
            params=self.params + extra * self.layer_params,
            model_params=self.model_params + extra * self.layer_params,
            forward=scaled(self.forward),
            backward=scaled(self.backward),
            activation_bytes=self.activation_bytes
            + extra * self.layer_activation_bytes,
        )


def _layer_stack(model):
    """``(name, layers)`` of the first ``nn.ModuleList`` called ``layers``
    (the encoder's layer stack), or ``(None, [])``."""
    for name, module in model.named_modules():
        stack = getattr(module, "layers", None)
        if isinstance(stack, nn.ModuleList) and len(stack):
            return (f"{name}.layers" if name else "layers"), stack
    return None, []


def _without_dropout_in_fused_attention(model):
    """GPU fused attention kernels apply dropout inside the kernel and
    keep O(T) per head for backward; on CPU, attention dropout forces
    the math kernel, which keeps the (T, T) probabilities. So the memory
    probe runs SDPA-based mixers without dropout. Returns what to undo."""
    changed = []
    for module in model.modules():
        if isinstance(module, (FlashMHA, RoPEMHA)) and module.dropout:
            changed.append((module, "dropout", module.dropout))
            module.dropout = 0.0
    return changed


class _SavedBytes:
    """A ``saved_tensors_hooks`` pack hook that records each storage once
    (parameters and ``skip`` excepted), and whether it was first saved
    inside one of ``layers``. Holding the storages keeps their addresses
    from being reused by later ones."""

    def __init__(self, skip=(), layers=()):
        self.skip = set(skip)
        self.storages = {}  # key -> (storage, inside a layer)
        self.depth = 0
        self._handles = []
        for layer in layers:
            self._handles.append(layer.register_forward_pre_hook(self._enter))
            self._handles.append(layer.register_forward_hook(self._leave))

    def _enter(self, *args):
        self.depth += 1

    def _leave(self, *args):
        self.depth -= 1

    def pack(self, tensor):
        storage = tensor.untyped_storage()
        if storage._cdata not in self.skip:
            self.storages.setdefault(storage._cdata, (storage, self.depth > 0))
        return tensor

    def total(self, in_layers=None):
        """Bytes recorded (only those inside layers, or outside)."""
        return sum(
            storage.nbytes()
            for storage, inside in self.storages.values()
            if in_layers is None or inside == in_layers
        )

    def close(self):
        for handle in self._handles:
            handle.remove()

    def __enter__(self):
        self._context = torch.autograd.graph.saved_tensors_hooks(
            self.pack, lambda t: t
        )
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        self._context.__exit__(*exc)
        self.close()


def span_mask(batch, frames, recipe, seed=0):
    """The recipe's span mask for ``batch`` utterances of ``frames``
    frames, drawn with a fixed seed (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return compute_span_mask(
            torch.full((batch,), frames, dtype=torch.long),
            frames,
            mask_prob=recipe["mask_prob"],
            mask_length=recipe["mask_length"],
            min_masks=recipe.get("min_masks", 2),
        )


def probe_step(recipe, batch, utterance_seconds, objective_bytes=None):
    """FLOPs and activation memory of one micro-batch of ``batch``
    utterances of ``utterance_seconds`` each, every encoder layer run
    (layerdrop off: the memory of the worst case; the FLOPs record the
    layerdrop probability for the expected cost).

    Arguments
    ---------
    recipe : summary_ssl.budget.recipe.Recipe
        A recipe whose YAML has ``wav2vec2`` and ``objective`` modules.
    batch : int
        Utterances in the micro-batch.
    utterance_seconds : float
        Length of each utterance.
    objective_bytes : int, optional
        The objective's saved bytes per masked frame, when already known
        (:func:`objective_bytes_per_masked_frame`).

    Returns
    -------
    StepProbe

    Example
    -------
    >>> from summary_ssl.budget.recipe import Recipe
    >>> from summary_ssl.toy import PRETRAIN_RECIPE
    >>> recipe = Recipe(PRETRAIN_RECIPE / "hparams/flash_conformer_w2v2.yaml",
    ...                 {"num_encoder_layers": 1, "d_model": 64, "nhead": 4})
    >>> probe = probe_step(recipe, batch=2, utterance_seconds=3.0)
    >>> probe.frames, probe.params == recipe.parameter_count()
    (148, True)
    """
    model, objective = recipe["wav2vec2"], recipe["objective"]
    model.train()
    samples = int(round(utterance_seconds * recipe.get("sample_rate", 16000)))
    frames = int(model.frontend.output_lengths(torch.tensor([samples]))[0])
    mask = span_mask(batch, frames, recipe)
    stack_name, stack = _layer_stack(model)
    undo = [
        (m, "layerdrop_prob", m.layerdrop_prob)
        for m in model.modules()
        if getattr(m, "layerdrop_prob", 0.0)
    ]
    layerdrop = max((value for _, _, value in undo), default=0.0)
    for module, _, _ in undo:
        module.layerdrop_prob = 0.0
    undo += _without_dropout_in_fused_attention(model)
    dtype = AUTOCAST[recipe.get("precision", "fp32")]
    params = {p.untyped_storage()._cdata for p in model.parameters()}
    try:
        with FakeTensorMode(allow_non_fake_inputs=True):
            wavs = torch.randn(batch, samples)
            lengths = torch.ones(batch)
            with FlopHooks(model) as hooks, _SavedBytes(params, stack) as saved:
                with gpu_autocast(dtype):
                    out = model(
                        wavs, lengths, mask=mask, output_hidden_states=False
                    )
    finally:
        for module, attr, value in undo:
            setattr(module, attr, value)
    missing = hooks.uncovered()
    if missing:
        raise ValueError(f"no FLOP formula covers the parameters {missing}")
    if out["context"].shape[1] != frames:
        raise RuntimeError(
            f"front end made {out['context'].shape[1]} frames, "
            f"output_lengths predicted {frames}"
        )
    masked = int(mask.sum())
    forward, backward = {}, {}
    for parts, count in ((forward, hooks.forward), (backward, hooks.backward)):
        parts["frontend"] = count("frontend")
        parts["encoder_layers"] = count(stack_name) if stack_name else 0
        parts["other"] = count() - parts["frontend"] - parts["encoder_layers"]
    _, num_slots = span_bounds(
        frames,
        recipe["mask_prob"],
        recipe["mask_length"],
        recipe.get("min_masks", 2),
    )
    (forward["objective"], backward["objective"]), elementwise = (
        objective_flops(objective, masked, slots=(batch, num_slots))
    )
    if objective_bytes is None:
        objective_bytes = objective_bytes_per_masked_frame(
            recipe, out["latents"].shape[-1], out["context"].shape[-1], dtype
        )
    model_params = sum(p.numel() for p in model.parameters())
    layers = len(stack)
    return StepProbe(
        batch=batch,
        utterance_seconds=utterance_seconds,
        frames=frames,
        masked_frames=masked,
        layers=layers,
        params=model_params + sum(p.numel() for p in objective.parameters()),
        model_params=model_params,
        layer_params=sum(p.numel() for p in stack[0].parameters())
        if layers
        else 0,
        forward=forward,
        backward=backward,
        elementwise_flops=elementwise,
        layerdrop=layerdrop,
        activation_bytes=saved.total() + masked * objective_bytes,
        layer_activation_bytes=saved.total(in_layers=True) // max(layers, 1),
        objective_bytes=masked * objective_bytes,
    )


def probe_layers(recipe, batch, utterance_seconds, objective_bytes=None):
    """:func:`probe_step`, fast: the model with one encoder layer, then
    :meth:`StepProbe.with_layers` to the recipe's ``num_encoder_layers``
    (exact, the layers being identical; a test checks it against the full
    probe). Recipes without that key are probed whole.

    Arguments
    ---------
    recipe : summary_ssl.budget.recipe.Recipe
    batch : int
    utterance_seconds : float
    objective_bytes : int, optional
        See :func:`probe_step`.

    Returns
    -------
    StepProbe
    """
    layers = recipe.get("num_encoder_layers")
    if not isinstance(layers, int) or layers < 2:
        return probe_step(recipe, batch, utterance_seconds, objective_bytes)
    one = recipe.with_overrides(num_encoder_layers=1)
    probe = probe_step(one, batch, utterance_seconds, objective_bytes)
    return probe.with_layers(layers)


# CUDA's autocast runs these in fp32 when given bf16/fp16 inputs; CPU's
# autocast leaves them in the input's precision. The tensors they save
# (and those of the element-wise ops after them) are then fp32 on a GPU.
_FP32_ON_CUDA = {
    F.layer_norm,
    F.group_norm,
    F.softmax,
    F.log_softmax,
    torch.softmax,
    torch.log_softmax,
    torch.Tensor.softmax,
    torch.Tensor.log_softmax,
}


class _CudaFp32Policy(TorchFunctionMode):
    """Inside an enabled CPU autocast region, casts the bf16/fp16 inputs
    of :data:`_FP32_ON_CUDA` to fp32, as CUDA's autocast does (above
    autograd, so the fp32 copies are what gets saved)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _FP32_ON_CUDA and torch.is_autocast_enabled("cpu"):
            args, kwargs = tree_map(_to_fp32, (args, kwargs))
        return func(*args, **kwargs)


def _to_fp32(value):
    if isinstance(value, torch.Tensor) and value.dtype in (
        torch.bfloat16,
        torch.float16,
    ):
        return value.float()
    return value


@contextlib.contextmanager
def gpu_autocast(dtype):
    """CPU autocast to ``dtype`` with CUDA's fp32 policy for norms and
    softmax (:class:`_CudaFp32Policy`); nothing for ``dtype`` None.

    Example
    -------
    >>> ln = torch.nn.LayerNorm(4)
    >>> x = torch.randn(2, 4)
    >>> with gpu_autocast(torch.bfloat16):
    ...     y = torch.nn.functional.linear(x, torch.eye(4))
    ...     z = ln(y)
    >>> y.dtype, z.dtype  # as on CUDA: matmul in bf16, LayerNorm in fp32
    (torch.bfloat16, torch.float32)
    """
    if dtype is None:
        yield
        return
    with torch.autocast("cpu", dtype=dtype), _CudaFp32Policy():
        yield


def _real_objective(recipe):
    """The recipe's objective, rebuilt on the meta device and materialised
    on the CPU with small random weights (values do not matter here)."""
    objective = recipe.load("meta")["objective"].to_empty(device="cpu")
    with torch.no_grad():
        for tensor in list(objective.parameters()) + list(objective.buffers()):
            if tensor.is_floating_point():
                tensor.normal_(0.0, 0.02)
    return objective.train()


def objective_bytes_per_masked_frame(recipe, latent_dim, d_model, dtype):
    """Bytes the objective saves for backward per masked frame: the slope
    between two real runs of 128 and 256 masked frames (one utterance)."""
    objective = _real_objective(recipe)
    gen = torch.Generator().manual_seed(0)
    totals = []
    for masked in (128, 256):
        frames = 2 * masked
        latents = torch.randn(1, frames, latent_dim, generator=gen)
        context = torch.randn(1, frames, d_model, generator=gen)
        latents.requires_grad_(True)
        context.requires_grad_(True)
        mask = torch.zeros(1, frames, dtype=torch.bool)
        mask[0, :masked] = True
        skip = [p.untyped_storage()._cdata for p in objective.parameters()]
        skip += [t.untyped_storage()._cdata for t in (latents, context)]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            with _SavedBytes(skip) as saved, gpu_autocast(dtype):
                out = objective(context, latents, mask, torch.tensor(0.0))
        totals.append(saved.total())
        del out, saved
    return max(0, (totals[1] - totals[0]) // 128)
