"""Launching a test worker on two gloo ranks, as torchrun runs it."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def torchrun(script, *args, port, nnodes=1, timeout=600):
    """Runs ``script`` on 2 CPU ranks: one torchrun agent (one "node")
    with 2 processes, or ``nnodes=2`` agents (two "nodes", static
    rendezvous as across machines) with one each. Fails the test with the
    end of the output if any agent fails; returns the agents' output.

    Arguments
    ---------
    script : str or pathlib.Path
        The worker script (run with the checkout on ``PYTHONPATH``).
    *args : str
        Its arguments.
    port : int
        The rendezvous port (one per test, so tests never share one).
    nnodes : int
        1 or 2.
    timeout : float
        Seconds before a hung run (a rank left waiting) fails.

    Returns
    -------
    str
    """
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    agents = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                f"--nnodes={nnodes}",
                f"--node_rank={node}",
                f"--nproc_per_node={2 // nnodes}",
                "--master_addr=127.0.0.1",
                f"--master_port={port}",
                str(script),
                *map(str, args),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in range(nnodes)
    ]
    logs = [agent.communicate(timeout=timeout)[0] for agent in agents]
    for agent, log in zip(agents, logs):
        assert agent.returncode == 0, log[-3000:]
    return "\n".join(logs)
