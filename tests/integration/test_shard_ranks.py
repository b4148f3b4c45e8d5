"""ShardLoader on 2 gloo ranks whose shares of the shards differ: both
ranks end the epoch together, the short one padding, and every segment
reaches training exactly once."""

import json
import os

import torch.distributed as dist
import torch.multiprocessing as mp

from summary_ssl.dataio.readable_batches import is_epoch_padding
from summary_ssl.dataio.shard_stream import ShardLoader, ShardStream
from tests.integration.test_pretraining_shards import make_toy_shards


def _rank(rank, shard_folder, out, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    loader = ShardLoader(
        ShardStream(shard_folder, max_batch_length=6.0), num_workers=2
    )
    loader.set_epoch(1)
    batches = list(loader)
    record = {
        "real": [i for b in batches if not is_epoch_padding(b) for i in b.id],
        "batches": len(batches),
        "padding": loader.padding_batches,
        "finished": sorted(loader.dataset.finished),
    }
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(record, f)
    dist.destroy_process_group()


def test_ranks_with_unequal_shares_end_the_epoch_together(tmp_path):
    # 5 shards over 2 ranks x 2 workers: rank 0 reads 3, rank 1 reads 2.
    shard_folder, ids = make_toy_shards(str(tmp_path / "data"))
    mp.spawn(_rank, args=(shard_folder, str(tmp_path), 29547), nprocs=2)
    ranks = [
        json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)
    ]
    assert ranks[0]["batches"] == ranks[1]["batches"]  # collectives match
    assert sum(r["padding"] for r in ranks) > 0
    assert sorted(ranks[0]["real"] + ranks[1]["real"]) == ids
    # Both ranks know every shard was consumed (for the checkpoint).
    names = json.load(open(os.path.join(shard_folder, "shards.json")))
    all_names = sorted(s["name"] for s in names["shards"])
    assert ranks[0]["finished"] == ranks[1]["finished"] == all_names
