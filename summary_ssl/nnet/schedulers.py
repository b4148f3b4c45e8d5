"""A one-cycle cosine learning-rate schedule with SpeechBrain's interface.

S3LSpeech pretrains with PyTorch's ``OneCycleLR`` (cosine warmup over the
first 8 % of the steps from ``lr / 1e6`` to ``lr``, then cosine annealing
back to ``lr / 1e6``). PyTorch's scheduler is stepped by itself and
checkpointed through its own state dict; SpeechBrain has no cosine
one-cycle schedule. This one is SpeechBrain's ``LinearWarmupScheduler``
(called once per optimizer step, a checkpoint recoverable) with
``OneCycleLR``'s curve.

Authors
-------
* summary_ssl contributors 2026
"""

import math

from speechbrain.nnet.schedulers import LinearWarmupScheduler
from speechbrain.utils.checkpoints import register_checkpoint_hooks


def _cosine(start, end, fraction):
    return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)


@register_checkpoint_hooks
class OneCycleCosineScheduler(LinearWarmupScheduler):
    """Cosine warmup to ``initial_value``, then cosine decay.

    Step ``k`` (1-based, the ``k``-th optimizer step) uses ``OneCycleLR``'s
    learning rate after ``k - 1`` scheduler steps, so the first step uses
    ``initial_value * start_factor``.

    Arguments
    ---------
    initial_value : float
        Peak learning rate.
    num_warmup_steps : float
        Steps of the warmup (``OneCycleLR``'s ``pct_start * total``).
    num_training_steps : int
        Total optimizer steps.
    start_factor : float
        First learning rate, as a fraction of the peak
        (``1 / div_factor``; S3LSpeech: 1e-6).
    end_factor : float
        Last learning rate, as a fraction of the peak
        (``1 / (div_factor * final_div_factor)``; S3LSpeech: 1e-6).

    Example
    -------
    >>> sched = OneCycleCosineScheduler(1.0, 2, 5, start_factor=0.0,
    ...                                 end_factor=0.0)
    >>> [round(sched.calculate_lr(k), 3) for k in range(1, 6)]
    [0.0, 1.0, 0.75, 0.25, 0.0]
    """

    def __init__(
        self,
        initial_value,
        num_warmup_steps,
        num_training_steps,
        start_factor=1e-6,
        end_factor=1e-6,
    ):
        super().__init__(initial_value, num_warmup_steps, num_training_steps)
        self.start_factor = start_factor
        self.end_factor = end_factor

    def calculate_lr(self, current_step):
        """Learning rate of optimizer step ``current_step`` (1-based)."""
        step = current_step - 1
        peak = self.lr0
        first = peak * self.start_factor
        last = peak * self.end_factor
        warmup_end = float(self.num_warmup_steps) - 1
        total_end = float(self.num_training_steps) - 1
        if step <= warmup_end:
            return _cosine(first, peak, step / max(warmup_end, 1e-9))
        fraction = (step - warmup_end) / max(total_end - warmup_end, 1e-9)
        return _cosine(peak, last, min(fraction, 1.0))
