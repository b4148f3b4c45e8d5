"""One rank of the 2-process DDP test (run by torchrun)."""

import sys

import torch
import torch.distributed as dist

from tests.integration.pretrain_helpers import run_pretraining

if __name__ == "__main__":
    output = sys.argv[1]
    brain = run_pretraining(
        output,
        run_opts=["--distributed_backend=gloo"],
        optimizer_step_limit=6,
        number_of_epochs=2,
        layerdrop_prob=0.5,
        log_interval=2,
    )
    state = {k: v.clone() for k, v in brain.raw_modules.state_dict().items()}
    torch.save(
        {"state": state, "step": brain.optimizer_step},
        f"{output}/rank{dist.get_rank()}.pt",
    )
