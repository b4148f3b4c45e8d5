"""Two-process DDP pretraining on CPU (gloo), as torchrun runs it, on one
"node" and on two (static rendezvous, as across machines)."""

import pathlib

import pytest
import torch

from tests.integration.test_pretraining_shards import make_toy_shards
from tests.integration.torchrun import torchrun

REPO = pathlib.Path(__file__).resolve().parents[2]


def _torchrun(worker, output, port, *args, nnodes=1):
    """Runs ``worker`` on 2 gloo ranks (see :func:`torchrun`); returns both
    ranks' saved dicts and the agents' output."""
    log = torchrun(
        REPO / "tests/integration" / worker,
        output,
        *args,
        port=port,
        nnodes=nnodes,
    )
    ranks = [torch.load(output / f"rank{r}.pt") for r in (0, 1)]
    return ranks, log


@pytest.fixture(scope="module")
def toy_shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    return make_toy_shards(str(folder))[0]


@pytest.fixture(scope="module")
def one_node(tmp_path_factory, toy_shards):
    """1 node x 2 processes, from CSV files and from shards."""
    out = tmp_path_factory.mktemp("one_node")
    csv = _torchrun("ddp_worker.py", out / "csv", 29533, "wav2vec2")[0]
    shards = _torchrun(
        "ddp_worker.py", out / "shards", 29536, "wav2vec2", toy_shards
    )[0]
    return {"csv": csv, "shards": shards}


def _assert_same_weights(ranks):
    a, b = ranks[0]["state"], ranks[1]["state"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


@pytest.mark.parametrize("source", ["csv", "shards"])
def test_two_ranks_end_with_identical_weights(one_node, source, tmp_path):
    """Layerdrop (0.5) and the quantiser must not need
    find_unused_parameters: the run would hang or fail otherwise."""
    ranks = one_node[source]
    assert ranks[0]["step"] == ranks[1]["step"] == 6
    _assert_same_weights(ranks)


@pytest.mark.parametrize("source", ["csv", "shards"])
def test_two_nodes_match_one_node_with_two_processes(
    one_node, toy_shards, source, tmp_path
):
    """Two torchrun agents on one host with static rendezvous, as on two
    machines (recipes/Libri-Light/.../README.md, "Scale")."""
    args = [toy_shards] if source == "shards" else []
    port = 29541 if source == "csv" else 29543
    two_nodes, _ = _torchrun(
        "ddp_worker.py", tmp_path, port, "wav2vec2", *args, nnodes=2
    )
    assert [r["step"] for r in two_nodes] == [6, 6]
    _assert_same_weights([one_node[source][0], two_nodes[0]])
    _assert_same_weights(two_nodes)
    assert (tmp_path / "exported_encoder" / "wav2vec2.ckpt").is_file()


def test_a_rank_with_an_unreadable_batch_stays_in_step(tmp_path):
    """Rank 1's third batch has no readable audio. Both ranks must still
    take part in every collective (no hang), step the optimizer after the
    same micro-batches (the accumulation cycle stays aligned) and end with
    the same weights; rank 1 counts and logs the bad batch."""
    ranks, log = _torchrun("ddp_unreadable_worker.py", tmp_path, 29534)
    assert ranks[0]["step"] == ranks[1]["step"] == 4
    assert ranks[0]["stepped_at"] == ranks[1]["stepped_at"] == [2, 4, 6, 8]
    assert (ranks[0]["unreadable"], ranks[1]["unreadable"]) == (0, 1)
    assert "no readable audio" in log
    _assert_same_weights(ranks)


def test_teacher_student_ranks_end_with_identical_student_and_teacher(
    tmp_path,
):
    """The teacher is not DDP-wrapped: each rank moves its own copy
    towards the (all-reduced) student, so the copies must stay equal."""
    ranks, _ = _torchrun("ddp_worker.py", tmp_path, 29535, "s3lspeech")
    assert ranks[0]["step"] == ranks[1]["step"] == 6
    _assert_same_weights(ranks)
    state = ranks[0]["state"]
    # The student is DDP-wrapped ("module."), the teacher is not.
    teacher = [k for k in state if k.startswith("teacher.model.")]
    assert teacher and any(k.startswith("student.module.") for k in state)
    # The teacher is an average of past students, not the student.
    assert any(
        not torch.equal(
            state[k], state["student.module." + k[len("teacher.model.") :]]
        )
        for k in teacher
    )
    assert (tmp_path / "exported_encoder" / "wav2vec2.ckpt").is_file()
