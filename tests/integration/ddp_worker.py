"""One rank of the 2-process DDP tests (run by torchrun).

    ddp_worker.py OUTPUT wav2vec2|s3lspeech [SHARD_FOLDER]

With a shard folder, the rank streams it (``data_source: shards``).
"""

import sys

import torch
import torch.distributed as dist

from tests.integration.pretrain_helpers import run_pretraining, run_s3l
from tests.integration.test_pretraining_shards import shard_overrides

if __name__ == "__main__":
    output, objective = sys.argv[1], sys.argv[2]
    settings = dict(
        run_opts=["--distributed_backend=gloo"],
        optimizer_step_limit=6,
        number_of_epochs=2,
        log_interval=2,
    )
    if len(sys.argv) > 3:
        # No loader workers, as in the CSV runs: a DataLoader worker forked
        # from a process with gloo's threads hung once in validation (the
        # fork-with-threads hazard); workers x ranks are covered by
        # tests/integration/test_shard_ranks.py.
        settings.update(shard_overrides(sys.argv[3]))
    if objective == "wav2vec2":
        brain = run_pretraining(output, layerdrop_prob=0.5, **settings)
    else:
        brain = run_s3l(output, **settings)
    state = {k: v.clone() for k, v in brain.raw_modules.state_dict().items()}
    torch.save(
        {
            "state": state,
            "step": brain.optimizer_step,
            "padding": brain.epoch_padding_batches,
        },
        f"{output}/rank{dist.get_rank()}.pt",
    )
