"""A pretraining recipe as the planner sees it: its YAML and its schedule.

The YAML is loaded with its overrides under PyTorch's ``FakeTensorMode``
(every tensor has its shape, dtype and autograd graph but no data), so a
155M-parameter model builds in a fraction of a second and can run a
forward pass that costs nothing (:mod:`summary_ssl.budget.probe`).

Schedule arithmetic (per optimizer step, nominal):
``audio = max_batch_length x grad_accumulation_factor x GPUs``. SpeechBrain's
``DynamicBatchSampler`` fills each batch with ``floor(max_batch_length /
L)`` utterances of its bucket's length ``L``, so the real audio per batch
is at most ``max_batch_length`` (the run logs the real figure,
``audio_hours`` per step in ``train_steps.jsonl``).

Authors
-------
* summary_ssl contributors 2026
"""

import math
import re
import tempfile
from pathlib import Path

import torch
import yaml
from hyperpyyaml import load_hyperpyyaml
from torch._subclasses.fake_tensor import FakeTensorMode

from summary_ssl.brains.recipe import resolve_overlay

_PLACEHOLDER = re.compile(r"^(\w+):\s*!PLACEHOLDER", re.MULTILINE)


class ScheduleError(ValueError):
    """The schedule cannot be costed with what was given."""


class Recipe:
    """A recipe YAML with its overrides, built on fake tensors.

    Arguments
    ---------
    path : str or Path
        The recipe YAML, or an overlay of one (``base_hparams``).
    overrides : dict, optional
        Top-level overrides, as on the recipe's command line.

    Example
    -------
    >>> from tools.toy import PRETRAIN_RECIPE
    >>> recipe = Recipe(PRETRAIN_RECIPE / "hparams/summarymixing_w2v2.yaml",
    ...                 {"num_encoder_layers": 2})
    >>> recipe.name, recipe.hparams["num_encoder_layers"]
    ('summarymixing_w2v2', 2)
    >>> len(recipe.hparams["wav2vec2"].encoder.layers)
    2
    """

    def __init__(self, path, overrides=None):
        # An overlay (the Libri-Light recipes) costs its base YAML with the
        # overlay's keys as overrides, as run_pretraining loads it.
        base, text = resolve_overlay(str(path), yaml.safe_dump(overrides or {}))
        self.path = Path(base)
        self.overrides = yaml.safe_load(text) or {}
        self.text = self.path.read_text(encoding="utf-8")
        self.hparams = self.load("fake")

    @property
    def name(self):
        """The YAML's stem, e.g. ``summarymixing_w2v2``."""
        return self.path.stem

    def load(self, device):
        """Loads the YAML again: ``fake`` (shapes only), ``meta`` or a
        real device. ``!PLACEHOLDER`` keys get a dummy path and
        ``output_folder`` a temporary one (the checkpointer creates its
        folder when built)."""
        with tempfile.TemporaryDirectory(prefix="budget_") as tmp:
            fill = {k: f"{tmp}/{k}" for k in _PLACEHOLDER.findall(self.text)}
            if re.search(r"^output_folder:", self.text, re.MULTILINE):
                fill["output_folder"] = f"{tmp}/output"
            fill.update(self.overrides)
            if device == "fake":
                with FakeTensorMode(allow_non_fake_inputs=True):
                    return load_hyperpyyaml(self.text, fill)
            with torch.device(device):
                return load_hyperpyyaml(self.text, fill)

    def with_overrides(self, **overrides):
        """The same YAML with more overrides."""
        return Recipe(self.path, {**self.overrides, **overrides})

    @property
    def is_teacher_student(self):
        """Whether the YAML is a teacher-student recipe (``student``,
        ``teacher``: S3LSpeech) rather than wav2vec 2.0 (``wav2vec2``)."""
        return "student" in self.hparams and "teacher" in self.hparams

    @property
    def trained_modules(self):
        """The keys of the modules the optimizer trains: ``wav2vec2`` or
        ``student``, and ``objective``."""
        model = "student" if self.is_teacher_student else "wav2vec2"
        return (model, "objective")

    @property
    def encoder(self):
        """The encoder that is exported after pretraining."""
        if self.is_teacher_student:
            return self.hparams["student"].encoder
        return self.hparams["wav2vec2"].encoder

    def parameter_count(self):
        """Parameters the optimizer trains: the model (``wav2vec2`` or
        ``student``) and the ``objective`` (not an EMA teacher's)."""
        return sum(
            p.numel()
            for key in self.trained_modules
            for p in self.hparams[key].parameters()
        )

    def __getitem__(self, key):
        return self.hparams[key]

    def get(self, key, default=None):
        """A hyperparameter, or ``default``."""
        return self.hparams.get(key, default)


def audio_seconds_per_step(recipe, gpus=1):
    """Nominal audio per optimizer step (seconds): batch length x
    accumulation x GPUs.

    Arguments
    ---------
    recipe : Recipe or dict
    gpus : int

    Returns
    -------
    float

    Example
    -------
    >>> audio_seconds_per_step(
    ...     {"max_batch_length": 360, "grad_accumulation_factor": 4}, gpus=4)
    5760.0
    """
    accumulation = recipe.get("grad_accumulation_factor", 1) or 1
    return float(recipe["max_batch_length"]) * accumulation * gpus


def optimizer_steps(recipe, gpus=1, data_hours=None):
    """Optimizer steps of the schedule: ``optimizer_step_limit``, or the
    epochs over ``data_hours`` when there is no limit (or the epochs end
    first).

    Example
    -------
    >>> hp = {"max_batch_length": 360, "grad_accumulation_factor": 4,
    ...       "optimizer_step_limit": 300000, "number_of_epochs": 100}
    >>> optimizer_steps(hp, gpus=4)
    300000
    >>> optimizer_steps(hp, gpus=4, data_hours=960)  # 100 epochs end first
    60000
    """
    limit = recipe.get("optimizer_step_limit")
    epochs = recipe.get("number_of_epochs")
    by_epochs = None
    if data_hours is not None and epochs:
        per_step = audio_seconds_per_step(recipe, gpus)
        by_epochs = math.ceil(epochs * data_hours * 3600.0 / per_step)
    if limit is None and by_epochs is None:
        raise ScheduleError(
            "the schedule has no optimizer_step_limit: give --data-hours so "
            "that number_of_epochs can be turned into steps"
        )
    return min(s for s in (limit, by_epochs) if s is not None)


def default_utterance_seconds(recipe):
    """The utterance length assumed for attention's quadratic term: the
    middle of the recipe's duration filter [min_duration, max_duration]
    (11 s for the recipes' 2-20 s), capped by ``max_batch_length``.

    Example
    -------
    >>> default_utterance_seconds({"min_duration": 2.0, "max_duration": 20.0,
    ...                            "max_batch_length": 360})
    11.0
    """
    low = float(recipe.get("min_duration", 0.0) or 0.0)
    high = float(recipe.get("max_duration", 20.0) or 20.0)
    return min((low + high) / 2.0, float(recipe["max_batch_length"]))


def utterances_per_batch(recipe, utterance_seconds):
    """What ``DynamicBatchSampler`` puts in a batch of utterances of that
    length: ``floor(max_batch_length / L)``, at least one."""
    return max(1, int(float(recipe["max_batch_length"]) // utterance_seconds))
