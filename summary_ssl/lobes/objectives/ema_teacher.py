"""A teacher that is an exponential moving average (EMA) of its student.

    teacher <- m * teacher + (1 - m) * student      after each optimizer step

with the decay ``m`` following a schedule over the optimizer steps. In
S3LSpeech (Lugo & Vielzeuf 2024, public code ``models/ssl.py``) and
Spiral, the teacher starts as a copy of the student (step 0, ``m = 0``)
and ``m`` rises from 0.995 to 1.0 along a cosine over the whole run.

The teacher's parameters have ``requires_grad=False``: SpeechBrain's Brain
then leaves it out of DDP (it wraps only modules with trainable
parameters), and every rank updates its own copy from the identical
student. It is a plain ``nn.Module``, so a Checkpointer saves it with its
state dict.

Authors
-------
* summary_ssl contributors 2026
"""

import copy
import math

import torch
import torch.nn as nn

SCHEDULES = ("cosine", "linear", "constant")


def ema_decay(step, total_steps, start=0.995, end=1.0, schedule="cosine"):
    """The EMA decay after ``step`` optimizer steps.

    Arguments
    ---------
    step : int
        Optimizer steps done (>= 1; step 0 is the initial copy).
    total_steps : int
        Steps over which the decay goes from ``start`` to ``end``; it stays
        at ``end`` after.
    start : float
        Decay at step 0.
    end : float
        Decay at ``total_steps``.
    schedule : str
        ``cosine`` (S3LSpeech), ``linear`` or ``constant`` (``start``).

    Returns
    -------
    float

    Example
    -------
    >>> ema_decay(0, 100), ema_decay(50, 100), ema_decay(100, 100)
    (0.995, 0.9975, 1.0)
    """
    if schedule == "constant":
        return start
    progress = min(step / max(total_steps, 1), 1.0)
    if schedule == "cosine":
        return end + 0.5 * (start - end) * (1 + math.cos(math.pi * progress))
    if schedule == "linear":
        return start + (end - start) * progress
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


class EMATeacher(nn.Module):
    """An EMA copy of a student module, with no gradients.

    Arguments
    ---------
    student : torch.nn.Module
        The module to follow; it is deep-copied (DDP-unwrap it first).
    total_steps : int
        Optimizer steps of the decay schedule (the run's length).
    decay_start : float
        Decay at the start (S3LSpeech: 0.995).
    decay_end : float
        Decay at ``total_steps`` (S3LSpeech: 1.0).
    schedule : str
        ``cosine``, ``linear`` or ``constant``.

    Example
    -------
    >>> student = nn.Linear(3, 2)
    >>> teacher = EMATeacher(student, total_steps=10, schedule="constant",
    ...                      decay_start=0.5)
    >>> before = teacher.model.weight.clone()
    >>> _ = nn.init.zeros_(student.weight)  # as if an optimizer step
    >>> teacher.update(student, step=1)
    0.5
    >>> torch.allclose(teacher.model.weight, 0.5 * before)
    True
    >>> teacher(torch.ones(1, 3)).requires_grad
    False
    """

    def __init__(
        self,
        student,
        total_steps,
        decay_start=0.995,
        decay_end=1.0,
        schedule="cosine",
    ):
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {SCHEDULES}, got {schedule!r}"
            )
        for name, value in (
            ("decay_start", decay_start),
            ("decay_end", decay_end),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.model = copy.deepcopy(student)
        self.model.requires_grad_(False)
        self.total_steps = total_steps
        self.decay_start = decay_start
        self.decay_end = decay_end
        self.schedule = schedule

    def decay(self, step):
        """The decay applied after optimizer step ``step`` (0 at step 0)."""
        if step == 0:
            return 0.0
        return ema_decay(
            step,
            self.total_steps,
            self.decay_start,
            self.decay_end,
            self.schedule,
        )

    @torch.no_grad()
    def update(self, student, step):
        """Moves the teacher towards ``student``; returns the decay used.

        Arguments
        ---------
        student : torch.nn.Module
            The module the teacher was built from (DDP-unwrapped), with
            the same parameters in the same order.
        step : int
            Optimizer steps done; 0 copies the student.

        Returns
        -------
        float
        """
        decay = self.decay(step)
        mine = list(self.model.parameters())
        theirs = [p.detach() for p in student.parameters()]
        if len(mine) != len(theirs):
            raise ValueError(
                f"student has {len(theirs)} parameters, the teacher "
                f"{len(mine)}: not the module the teacher was built from"
            )
        if decay == 0.0:
            torch._foreach_copy_(mine, theirs)
        elif decay < 1.0:
            torch._foreach_mul_(mine, decay)
            torch._foreach_add_(mine, theirs, alpha=1.0 - decay)
        for own, other in zip(self.model.buffers(), student.buffers()):
            own.copy_(other)
        return decay

    def forward(self, *args, **kwargs):
        """Runs the teacher without gradients (in the mode it is in)."""
        with torch.no_grad():
            return self.model(*args, **kwargs)
