"""What a training run cost: wall time, GPU-hours, peak memory, energy.

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import time

import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)

logger = logging.getLogger(__name__)


def _nvml_energy_joules():
    """Total energy of the visible GPUs since driver load, or None."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        total = 0.0
        for i in range(torch.cuda.device_count()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            total += pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1e3
        return total
    except Exception:  # NVML missing, or the GPU does not report energy
        return None


@register_checkpoint_hooks
class CostTracker:
    """Accumulates cost across resumed runs (it is a checkpoint
    recoverable, so a resumed run adds to what was spent before).

    Arguments
    ---------
    world_size : int
        Number of processes (one GPU each when on CUDA).

    Example
    -------
    >>> tracker = CostTracker()
    >>> tracker.start(); report = tracker.report()
    >>> sorted(report)  # doctest: +NORMALIZE_WHITESPACE
    ['energy_kwh', 'gpu_hours', 'peak_gpu_memory_gib', 'wall_hours',
     'wall_seconds', 'world_size']
    """

    def __init__(self, world_size=1):
        self.world_size = world_size
        self.previous_seconds = 0.0
        self.previous_joules = 0.0
        self._start = None
        self._start_joules = None

    def start(self):
        """Starts (or restarts, after a resume) the clock."""
        self._start = time.time()
        self._start_joules = _nvml_energy_joules()

    def seconds(self):
        """Wall seconds over all runs so far."""
        running = time.time() - self._start if self._start else 0.0
        return self.previous_seconds + running

    def joules(self):
        """GPU energy over all runs so far, or None when not reported."""
        now = _nvml_energy_joules()
        if now is None or self._start_joules is None:
            return None
        return self.previous_joules + now - self._start_joules

    @mark_as_saver
    def save(self, path):
        """Saves the totals so far."""
        state = {"seconds": self.seconds(), "joules": self.joules() or 0.0}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(state, f)

    @mark_as_loader
    def load(self, path, end_of_epoch=False):
        """Restores the totals of the interrupted run."""
        del end_of_epoch
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        self.previous_seconds = state["seconds"]
        self.previous_joules = state["joules"]
        self.start()

    def report(self):
        """The cost so far, as a dict."""
        seconds = self.seconds()
        on_gpu = torch.cuda.is_available()
        joules = self.joules()
        peak = torch.cuda.max_memory_allocated() / 2**30 if on_gpu else None
        return {
            "wall_seconds": round(seconds, 1),
            "wall_hours": round(seconds / 3600, 4),
            "gpu_hours": round(seconds / 3600 * self.world_size, 4)
            if on_gpu
            else 0.0,
            "world_size": self.world_size,
            "peak_gpu_memory_gib": None if peak is None else round(peak, 2),
            "energy_kwh": None if joules is None else round(joules / 3.6e6, 4),
        }

    def write(self, path):
        """Writes ``cost.json`` and logs one line; returns the report."""
        report = self.report()
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        logger.info(
            "Cost: %.2f wall hours, %.2f GPU-hours, peak GPU memory %s GiB, "
            "energy %s kWh",
            report["wall_hours"],
            report["gpu_hours"],
            report["peak_gpu_memory_gib"],
            report["energy_kwh"],
        )
        return report
