"""Peak GPU memory of a training step, estimated, and the tools that
measure the activations (used by :mod:`summary_ssl.budget.probe`).

peak = weights + gradients + optimizer state + activations, where

* weights and gradients are fp32 (the recipes keep fp32 weights under
  autocast): 4 + 4 bytes per parameter; an EMA teacher's weights
  (``frozen_params``: no gradients, no optimizer state) 4 bytes each;
* AdamW keeps two fp32 moments: 8 bytes per parameter;
* activations are what autograd saves for the backward pass, measured on
  fake tensors by :func:`summary_ssl.budget.probe.probe_step` for one
  micro-batch (the bf16/fp16 copies of the weights that autocast makes are
  among them). Gradient accumulation does not add to them. They are
  recorded by :class:`SavedBytes` (a ``saved_tensors_hooks`` pack hook),
  under :func:`gpu_autocast` (CPU autocast with CUDA's fp32 policy for
  norms and softmax); the objective's bytes per frame are measured on a
  real copy of it (:func:`objective_bytes_per_masked_frame`).

Not counted: the temporaries of the backward pass (gradients of
activations, freed layer by layer), the input batch, CUDA's context and
the caching allocator's fragmentation. Read the result as a lower bound.

Authors
-------
* summary_ssl contributors 2026
"""

import contextlib

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

GIB = 2.0**30
STATE_BYTES_PER_PARAM = {"weights": 4, "gradients": 4, "optimizer": 8}


def peak_memory(probe):
    """Memory of one training step, in GiB, by part.

    Arguments
    ---------
    probe : summary_ssl.budget.probe.StepProbe

    Returns
    -------
    dict
        ``weights``, ``gradients``, ``optimizer``, ``activations`` (of
        which ``objective_activations``), and ``peak`` (their sum).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> probe = SimpleNamespace(params=2**28, activation_bytes=2**31,
    ...                         objective_bytes=2**30, frozen_params=0)
    >>> peak_memory(probe)["peak"]  # 4 GiB of state (16 B/param) + 2
    6.0
    """
    parts = {
        name: probe.params * size / GIB
        for name, size in STATE_BYTES_PER_PARAM.items()
    }
    parts["weights"] += probe.frozen_params * 4 / GIB
    parts["activations"] = probe.activation_bytes / GIB
    parts["objective_activations"] = probe.objective_bytes / GIB
    parts["peak"] = sum(
        parts[name] for name in ("weights", "gradients", "optimizer")
    )
    parts["peak"] += parts["activations"]
    return parts


AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


class SavedBytes:
    """A ``saved_tensors_hooks`` pack hook that records each storage once
    (parameters and ``skip`` excepted), and whether it was first saved
    inside one of ``layers`` and is that layer's own (not one of the
    keyword inputs every layer shares, such as the padding mask). Holding
    the storages keeps their addresses from being reused by later ones."""

    def __init__(self, skip=(), layers=()):
        self.skip = set(skip)
        self.storages = {}  # key -> (storage, inside a layer)
        self.shared = set()  # the layers' keyword inputs
        self.depth = 0
        self._handles = []
        for layer in layers:
            self._handles.append(
                layer.register_forward_pre_hook(self._enter, with_kwargs=True)
            )
            self._handles.append(layer.register_forward_hook(self._leave))

    def _enter(self, module, args, kwargs):
        # The keyword inputs (padding mask, positions) are made once, outside
        # the layers, and shared by all of them: not a layer's own, wherever
        # they are first saved.
        for value in kwargs.values():
            if isinstance(value, torch.Tensor):
                self.shared.add(value.untyped_storage()._cdata)
        self.depth += 1

    def _leave(self, *args):
        self.depth -= 1

    def pack(self, tensor):
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key not in self.skip:
            inside = self.depth > 0 and key not in self.shared
            self.storages.setdefault(key, (storage, inside))
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
            with SavedBytes(skip) as saved, gpu_autocast(dtype):
                out = objective(context, latents, mask, torch.tensor(0.0))
        totals.append(saved.total())
        del out, saved
    return max(0, (totals[1] - totals[0]) // 128)


def ts_objective_bytes_per_frame(recipe, proj_dim, dtype):
    """Bytes the teacher-student objective saves for backward per real
    output frame (predictor beyond the student's output, gathered
    negatives, scores): the slope between two real runs of 128 and 256
    frames (one utterance)."""
    objective = _real_objective(recipe)
    gen = torch.Generator().manual_seed(0)
    totals = []
    for frames in (128, 256):
        student = torch.randn(1, frames, proj_dim, generator=gen)
        teacher = torch.randn(1, frames, proj_dim, generator=gen)
        student.requires_grad_(True)
        padding = torch.zeros(1, frames, dtype=torch.bool)
        skip = [p.untyped_storage()._cdata for p in objective.parameters()]
        skip += [t.untyped_storage()._cdata for t in (student, teacher)]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            with SavedBytes(skip) as saved, gpu_autocast(dtype):
                out = objective(student, teacher, padding)
        totals.append(saved.total())
        del out, saved
    return max(0, (totals[1] - totals[0]) // 128)
