"""Two "nodes" on one machine, as torchrun runs them across machines
(static rendezvous, gloo): the same weights as one node with 2 processes,
from prepared CSV files and from streamed shards."""

import os
import subprocess
import sys

import pytest
import torch

from tests.integration.test_ddp import REPO, _assert_same_weights
from tests.integration.test_pretraining_shards import make_toy_shards


def _torchrun(output, port, nnodes, nproc_per_node, *args):
    """Launches ``nnodes`` torchrun agents (one per "node") of
    ``nproc_per_node`` processes each; returns every rank's saved dict."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    agents = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                f"--nnodes={nnodes}",
                f"--node_rank={node}",
                f"--nproc_per_node={nproc_per_node}",
                "--master_addr=127.0.0.1",
                f"--master_port={port}",
                str(REPO / "tests/integration/ddp_worker.py"),
                str(output),
                "wav2vec2",
                *args,
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in range(nnodes)
    ]
    logs = [agent.communicate(timeout=600)[0] for agent in agents]
    for agent, log in zip(agents, logs):
        assert agent.returncode == 0, log[-3000:]
    world = nnodes * nproc_per_node
    return [torch.load(output / f"rank{r}.pt") for r in range(world)]


@pytest.mark.parametrize("source", ["csv", "shards"])
def test_two_nodes_match_one_node_with_two_processes(source, tmp_path):
    args = []
    if source == "shards":
        args = [make_toy_shards(str(tmp_path / "data"))[0]]
    port = 29541 if source == "csv" else 29543
    one_node = _torchrun(tmp_path / "one_node", port, 1, 2, *args)
    two_nodes = _torchrun(tmp_path / "two_nodes", port + 1, 2, 1, *args)
    for ranks in (one_node, two_nodes):
        assert [r["step"] for r in ranks] == [6, 6]
        _assert_same_weights(ranks)
    _assert_same_weights([one_node[0], two_nodes[0]])
