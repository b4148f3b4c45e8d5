"""Random-number-generator state as a SpeechBrain checkpoint recoverable.

SpeechBrain's checkpoints do not hold the RNG states, so a resumed run
draws different masks, negatives and dropout than an uninterrupted one.
After an intra-epoch checkpoint, the state is restored lazily, by
:meth:`RNGState.apply_pending`, right before the first training batch
after recovery: creating the data-loader iterator (which happens between
recovery and that batch, and draws from the global RNG) must not shift the
restored sequence.

Authors
-------
* summary_ssl contributors 2026
"""

import random

import numpy as np
import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)


@register_checkpoint_hooks
class RNGState:
    """Saves Python, NumPy, torch CPU and CUDA RNG states.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "rng.ckpt")
    >>> rng = RNGState()
    >>> _ = torch.manual_seed(1); rng.save(path); a = torch.rand(3)
    >>> rng.load(path); rng.apply_pending(); b = torch.rand(3)
    >>> torch.equal(a, b)
    True
    """

    def __init__(self):
        self.pending = None

    @mark_as_saver
    def save(self, path):
        """Writes the current states to ``path``."""
        state = {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        torch.save(state, path)

    @mark_as_loader
    def load(self, path, end_of_epoch=False):
        """Reads states from ``path``. An end-of-epoch checkpoint applies
        them now (the next epoch's loader iterator is created after it, as
        in the uninterrupted run); an intra-epoch one defers them to
        ``apply_pending``, after the recovered loader's iterator exists."""
        self.pending = torch.load(path, weights_only=False)
        if end_of_epoch:
            self.apply_pending()

    def apply_pending(self):
        """Restores the loaded states, once."""
        if self.pending is None:
            return
        state, self.pending = self.pending, None
        random.setstate(state["python"])
        np.random.set_state(state["numpy"])
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
