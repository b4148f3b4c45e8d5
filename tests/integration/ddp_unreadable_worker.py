"""One rank of the DDP test where rank 1 meets a batch with no readable
audio (run by torchrun)."""

import sys

import torch
import torch.distributed as dist

import summary_ssl.dataio.readable_batches as readable_batches
from summary_ssl.brains.wav2vec2 import W2V2Brain
from tests.integration.pretrain_helpers import run_pretraining

BAD_CALL = 3  # rank 1's third batch has no readable audio at all


CALLS = []


def collate_with_a_bad_batch(examples):
    CALLS.append(len(examples))
    if dist.get_rank() == 1 and len(CALLS) == BAD_CALL:
        examples = [dict(ex, sig=torch.zeros(0)) for ex in examples]
    return ORIGINAL_COLLATE(examples)


if __name__ == "__main__":
    output = sys.argv[1]
    ORIGINAL_COLLATE = readable_batches.collate_readable
    # train.py imports collate_readable when it is loaded (after this).
    readable_batches.collate_readable = collate_with_a_bad_batch
    stepped_at = []
    original_step = W2V2Brain.optimizers_step

    def optimizers_step(self):
        stepped_at.append(self.step)
        original_step(self)

    W2V2Brain.optimizers_step = optimizers_step
    brain = run_pretraining(
        output,
        run_opts=["--distributed_backend=gloo"],
        optimizer_step_limit=4,
        number_of_epochs=2,
        grad_accumulation_factor=2,
        log_interval=1,
    )
    state = {k: v.clone() for k, v in brain.raw_modules.state_dict().items()}
    torch.save(
        {
            "state": state,
            "step": brain.optimizer_step,
            "stepped_at": stepped_at,
            "unreadable": brain.unreadable_batches,
        },
        f"{output}/rank{dist.get_rank()}.pt",
    )
