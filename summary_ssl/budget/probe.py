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
  softmax added (:mod:`summary_ssl.budget.memory`).

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

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F
from speechbrain.nnet.attention import RoPEMHA
from torch._subclasses.fake_tensor import FakeTensorMode

from summary_ssl.budget.flops import FlopHooks, objective_flops
from summary_ssl.budget.memory import (
    AUTOCAST,
    SavedBytes,
    gpu_autocast,
    objective_bytes_per_masked_frame,
    ts_objective_bytes_per_frame,
)
from summary_ssl.lobes.augment.span_masking import (
    compute_span_mask,
    span_bounds,
)
from summary_ssl.nnet.attention import FlashMHA


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
    frozen_params: int = 0  # weights without gradients (an EMA teacher)

    @property
    def objective_frames(self):
        """Frames the objective works on: the masked ones (wav2vec 2.0),
        else every output frame (teacher-student)."""
        return self.masked_frames or self.batch * self.frames

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


def _count(*modules):
    """Parameters of ``modules`` (0 for none)."""
    return sum(p.numel() for m in modules for p in m.parameters())


def _layer_stack(model):
    """``(name, layers)`` of the first ``nn.ModuleList`` called ``layers``
    (the encoder's layer stack), or ``(None, [])``."""
    for name, module in model.named_modules():
        stack = getattr(module, "layers", None)  # any module: duck typing
        if isinstance(stack, nn.ModuleList) and len(stack):
            return (f"{name}.layers" if name else "layers"), stack
    return None, []


def _layer_stacks(model):
    """Every ``nn.ModuleList`` called ``layers`` that is not inside
    another (the layer stacks of a staged encoder), as ``(name, layers)``.

    Example
    -------
    >>> net = nn.ModuleDict({"a": nn.Module(), "b": nn.Module()})
    >>> net.a.layers = nn.ModuleList([nn.Linear(2, 2)])
    >>> net.b.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    >>> [(name, len(layers)) for name, layers in _layer_stacks(net)]
    [('a.layers', 1), ('b.layers', 2)]
    """
    stacks = []
    for name, module in model.named_modules():
        inside = any(name.startswith(f"{outer}.") for outer, _ in stacks)
        if name.rsplit(".", 1)[-1] == "layers" and not inside:
            if isinstance(module, nn.ModuleList) and len(module):
                stacks.append((name, module))
    return stacks


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
    >>> from tools.toy import PRETRAIN_RECIPE
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
    undo = [  # every module that has a layerdrop (duck typing)
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
            with FlopHooks(model) as hooks, SavedBytes(params, stack) as saved:
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
    model_params = _count(model)
    layers = len(stack)
    return StepProbe(
        batch=batch,
        utterance_seconds=utterance_seconds,
        frames=frames,
        masked_frames=masked,
        layers=layers,
        params=model_params + _count(objective),
        model_params=model_params,
        layer_params=_count(*stack[:1]),
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
    if recipe.is_teacher_student:
        return probe_teacher_student(
            recipe, batch, utterance_seconds, objective_bytes
        )
    layers = recipe.get("num_encoder_layers")
    if not isinstance(layers, int) or layers < 2:
        return probe_step(recipe, batch, utterance_seconds, objective_bytes)
    one = recipe.with_overrides(num_encoder_layers=1)
    probe = probe_step(one, batch, utterance_seconds, objective_bytes)
    return probe.with_layers(layers)


def probe_teacher_student(
    recipe, batch, utterance_seconds, objective_bytes=None
):
    """FLOPs and activation memory of one micro-batch of a teacher-student
    recipe (S3LSpeech: ``student``, EMA ``teacher``, ``objective``), as
    ``TeacherStudentBrain`` runs it: the filterbanks of the clean and of
    the noised waveform; the student forward and backward; the teacher
    forward only (no gradient), on the clean filterbanks lengthened by the
    random shift's expected ``(min_shift + max_shift) x unit`` frames; the
    objective's predictor forward and backward on every real output frame.

    The contrastive scores (cosine similarities of each frame with its
    target and ``num_negatives`` negatives) are element-wise products
    torch's counter does not see: reported in ``elementwise_flops``, not
    counted. Noise, SpecAugment and the shift are element-wise too.

    Arguments
    ---------
    recipe : summary_ssl.budget.recipe.Recipe
        A recipe whose YAML has ``student``, ``teacher`` and ``objective``.
    batch : int
        Utterances in the micro-batch.
    utterance_seconds : float
        Length of each utterance.
    objective_bytes : int, optional
        The objective's saved bytes per output frame, when already known.

    Returns
    -------
    StepProbe
        ``frames`` are the student's output frames per utterance;
        ``masked_frames`` is 0 (no masking: every real frame is a target);
        the teacher's FLOPs are the ``teacher`` part (forward only) and its
        weights ``frozen_params``.

    Example
    -------
    >>> from summary_ssl.budget.recipe import Recipe
    >>> from tools.toy import REPO
    >>> recipe = Recipe(REPO / "recipes/LibriSpeech/self-supervised-learning"
    ...                 "/s3lspeech/hparams/s3lspeech.yaml",
    ...                 {"d_model": 64, "d_ffn": 128, "nhead": 4})
    >>> probe = probe_teacher_student(recipe, batch=2, utterance_seconds=4.0)
    >>> probe.frames == int(recipe.encoder.output_lengths(64000))  # 80 ms
    True
    >>> probe.backward["teacher"], probe.frozen_params > 0  # EMA: no grads
    (0, True)
    """
    student, teacher = recipe["student"], recipe["teacher"]
    objective, shift = recipe["objective"], recipe["random_shift"]
    encoder = student.encoder
    student.train()
    teacher.train()
    samples = int(round(utterance_seconds * recipe.get("sample_rate", 16000)))
    extra = (shift.min_shift + shift.max_shift) * shift.unit
    stacks = _layer_stacks(student)  # one per stage
    stack = [layer for _, layers in stacks for layer in layers]
    dtype = AUTOCAST[recipe.get("precision", "fp32")]
    params = {p.untyped_storage()._cdata for p in student.parameters()}
    params |= {p.untyped_storage()._cdata for p in objective.parameters()}
    with FakeTensorMode(allow_non_fake_inputs=True):
        wavs = torch.randn(batch, samples)
        num_samples = torch.full((batch,), samples, dtype=torch.long)
        with FlopHooks(student) as hooks, FlopHooks(objective) as obj_hooks:
            with FlopHooks(teacher) as teacher_hooks:
                with SavedBytes(params, stack) as saved, gpu_autocast(dtype):
                    feats, fb_frames = encoder.features(wavs, num_samples)
                    encoder.features(wavs, num_samples)  # the noised copy
                    projected, padding, lengths = student(feats, fb_frames)
                    with torch.no_grad():
                        longer = F.pad(feats, (0, 0, 0, extra))
                        teacher(longer, fb_frames + extra)
                    objective.predictor(projected, lengths)
                    student_bytes = saved.total()
    for name, found in (
        ("student", hooks.uncovered()),
        ("objective", obj_hooks.uncovered()),
        ("teacher", teacher_hooks.uncovered()),
    ):
        if found:
            raise ValueError(f"no FLOP formula covers the {name}'s {found}")
    frames = projected.shape[1]
    forward, backward = {}, {}
    for parts, count in ((forward, hooks.forward), (backward, hooks.backward)):
        # The filterbank ran twice (clean and noised), outside the student.
        parts["frontend"] = count("encoder.front") + count("encoder.fbank")
        parts["encoder_layers"] = sum(count(name) for name, _ in stacks)
        parts["other"] = count() - parts["frontend"] - parts["encoder_layers"]
        parts["teacher"] = 0
        parts["objective"] = (
            obj_hooks.forward() if parts is forward else obj_hooks.backward()
        )
    forward["teacher"] = teacher_hooks.forward()
    real = batch * frames
    proj_dim = projected.shape[-1]
    elementwise = 2 * real * (objective.num_negatives + 1) * proj_dim
    if objective_bytes is None:
        objective_bytes = ts_objective_bytes_per_frame(recipe, proj_dim, dtype)
    return StepProbe(
        batch=batch,
        utterance_seconds=utterance_seconds,
        frames=frames,
        masked_frames=0,
        layers=len(stack),
        params=_count(student, objective),
        model_params=_count(encoder),
        layer_params=_count(*stack[:1]),
        forward=forward,
        backward=backward,
        elementwise_flops=elementwise,
        layerdrop=0.0,
        activation_bytes=student_bytes + real * objective_bytes,
        layer_activation_bytes=saved.total(in_layers=True)
        // max(len(stack), 1),
        objective_bytes=real * objective_bytes,
        frozen_params=_count(teacher),
    )
