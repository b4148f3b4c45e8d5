"""The pretraining step's efficiency properties, proven on the CPU:
no host-device synchronisation but the one finite check per optimizer
step, no graph breaks in the compiled step, a bounded number of compiled
graphs under dynamic batching, and compiled losses equal to eager ones.

The compiled runs use dynamo's ``eager`` and ``aot_eager`` backends:
graph breaks, graph counts and recompilations are decided by dynamo, and
``aot_eager`` also runs AOT autograd's traced forward and backward; CPU
inductor would add minutes of C++ compilation per test (set
``SUMMARY_SSL_INDUCTOR_TESTS=1`` to run the inductor comparison).
"""

import os

import pytest
import torch
from torch._dynamo.utils import counters

from summary_ssl.lobes.augment.span_masking import (
    compute_span_mask,
    span_bounds,
)
from summary_ssl.utils.host_sync import HostSyncRecorder
from tests.conftest import requires_cuda
from tests.integration.pretrain_helpers import fit, toy_batch, toy_brain


def _compiled_brain(backend="eager", dynamic=False, **extra):
    torch._dynamo.reset()
    counters.clear()
    return toy_brain(
        run_opts={
            "compile": True,
            "compile_using_fullgraph": True,
            "compile_using_dynamic_shape_tracing": dynamic,
        },
        compile_backend=backend,
        **extra,
    )


@pytest.mark.parametrize(
    "utterance_contrast_weight, utterance_contrast_layer, utterance_bank_size",
    [(0.0, None, 0), (1.0, None, 0), (1.0, 1, 0), (1.0, 0, 4)],
)
def test_step_reads_the_device_once_per_optimizer_step(
    utterance_contrast_weight, utterance_contrast_layer, utterance_bank_size
):
    """Micro-batches that do not step issue no synchronising op at all;
    the stepping one issues exactly one: the cycle's non-finite count,
    read after its backward is queued (with the utterance-level term
    too, on the top layer or a lower one, and with its bank, which wraps
    around within the 4 steps)."""
    torch.manual_seed(0)
    brain = toy_brain(
        grad_accumulation_factor=2,
        layerdrop_prob=0.3,
        log_interval=1000,
        utterance_contrast_weight=utterance_contrast_weight,
        utterance_contrast_layer=utterance_contrast_layer,
        utterance_bank_size=utterance_bank_size,
        feature_grad_mult=0 if utterance_bank_size else 1.0,
    )
    seen = []
    for i in range(4):
        with HostSyncRecorder() as rec:
            fit(brain, toy_batch(i))
        seen.append(rec.records)
    assert seen[0] == [] and seen[2] == [], seen[0] + seen[2]
    for records in (seen[1], seen[3]):
        assert len(records) == 1, records
        name, stack = records[0]
        assert "_local_scalar_dense" in name and "fit_batch" in stack
    assert brain.optimizer_step == 2


def test_progress_bar_shows_the_first_loss_of_an_epoch():
    """The epoch's first micro-batch reads its loss (the one extra host
    read per epoch), so the bar shows it instead of 0; later ones show
    the last value read, without reading."""
    import speechbrain as sb

    torch.manual_seed(0)
    brain = toy_brain(grad_accumulation_factor=3, log_interval=1000)
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    first = fit(brain, toy_batch(0))
    assert brain.avg_train_loss == pytest.approx(float(first))
    assert brain.avg_train_loss > 0
    with HostSyncRecorder() as rec:
        fit(brain, toy_batch(1))  # accumulates: no step, no read
    assert rec.records == []
    assert brain.avg_train_loss == pytest.approx(float(first))


@pytest.mark.parametrize("banked", [False, True])
def test_compiled_regions_have_no_graph_breaks(banked):
    """Each compiled region (front end, masking, encoder layer,
    objective) is one graph (fullgraph=True raises on a break), with
    layerdrop on; the 2 encoder layers share theirs. The same with the
    utterance-level term on layer 0 and its bank, written in place (one
    more region)."""
    torch.manual_seed(0)
    extra = {}
    if banked:
        extra = dict(
            utterance_contrast_weight=1.0,
            utterance_contrast_layer=0,
            utterance_bank_size=4,
            feature_grad_mult=0,
        )
    brain = _compiled_brain(layerdrop_prob=0.5, **extra)
    for _ in range(3):  # one shape: one graph per region
        fit(brain, toy_batch(0))
    assert not counters["graph_break"], dict(counters["graph_break"])
    assert counters["stats"]["unique_graphs"] == 4 + banked
    assert brain.optimizer_step == 3


def test_whole_step_traces_as_one_graph():
    """Front end, masking, encoder and objective, traced together
    (layerdrop off: its host-side decision is what the regions are
    for), are one graph without breaks."""
    torch.manual_seed(0)
    brain = toy_brain()
    model, objective = brain.modules.wav2vec2, brain.modules.objective

    def whole_step(wavs, lens):
        samples = model.sample_lengths(wavs, lens)
        T = model.frontend.output_lengths(wavs.shape[1])
        frames = model.frontend.output_lengths(samples)
        mask = compute_span_mask(frames, T)
        out = model(wavs, lens, mask=mask, output_hidden_states=False)
        _, slots = span_bounds(T, 0.65, 10, 2)
        return objective(
            out["context"], out["latents"], mask, out["features_pen"], slots
        )["loss"]

    torch._dynamo.reset()
    explained = torch._dynamo.explain(whole_step)(*toy_batch(0).sig)
    assert explained.graph_break_count == 0, explained.break_reasons
    assert explained.graph_count == 1


def _losses(brain, steps=3):
    torch.manual_seed(1)
    return [float(fit(brain, toy_batch(i))) for i in range(steps)]


@pytest.mark.parametrize(
    "backend",
    [
        "aot_eager",
        pytest.param(
            "inductor",
            marks=pytest.mark.skipif(
                not os.environ.get("SUMMARY_SSL_INDUCTOR_TESTS"),
                reason="minutes of C++ compilation on a cold CPU cache",
            ),
        ),
    ],
)
def test_compiled_step_gives_the_eager_losses(backend, monkeypatch):
    """Same seed, same batches: the compiled step's losses (and so its
    masks, negatives, Gumbel noise and updates) are the eager step's."""
    import torch._inductor.config

    # inductor otherwise draws random numbers with its own generator
    monkeypatch.setattr(torch._inductor.config, "fallback_random", True)
    torch.manual_seed(0)
    eager = _losses(toy_brain())
    torch.manual_seed(0)
    compiled = _losses(_compiled_brain(backend=backend))
    assert compiled == pytest.approx(eager, rel=1e-5, abs=1e-6)
    assert len(set(eager)) == 3  # the steps did train


def test_recompilation_is_bounded_under_dynamic_batching(tmp_path):
    """200 batches of the recipe's own sampler on the toy corpus (tens of
    distinct shapes) compile a fixed, small number of graphs with
    dynamic shapes: each region once for a batch of one utterance (size
    1 is always specialised) and once for larger batches."""
    from speechbrain.dataio.dataloader import make_dataloader

    from summary_ssl.brains.recipe import dataio_prepare
    from summary_ssl.dataio.readable_batches import collate_readable

    brain = _compiled_brain(dynamic=True, output_folder=str(tmp_path))
    (data, _), (sampler, _) = dataio_prepare(vars(brain.hparams))
    shapes, epoch = set(), 0
    while brain.step < 200:
        sampler.set_epoch(epoch)
        epoch += 1
        loader = make_dataloader(
            data, batch_sampler=sampler, collate_fn=collate_readable
        )
        for batch in loader:
            fit(brain, batch)
            shapes.add(tuple(batch.sig[0].shape))
            if brain.step == 200:
                break
    assert len(shapes) > 30  # dynamic batching: many shapes
    assert not counters["graph_break"]
    assert counters["stats"]["unique_graphs"] <= 8, dict(counters["stats"])


def _pinned_batch(seed):
    batch = toy_batch(seed)
    batch.sig = tuple(t.pin_memory() for t in batch.sig)
    return batch


@requires_cuda
def test_gpu_step_syncs_once_per_optimizer_step():
    """On a GPU, CUDA's own sync debug mode agrees with the CPU recorder:
    no synchronisation in a micro-batch that does not step, one in the
    one that does."""
    import warnings

    torch.manual_seed(0)
    brain = toy_brain(
        run_opts={"device": "cuda", "precision": "bf16"},
        grad_accumulation_factor=2,
        log_interval=1000,
    )
    for i in range(2):  # warm: allocator, cuDNN, first-step state
        fit(brain, _pinned_batch(i))
    counts, seen = [], []
    for i in range(2):
        batch = _pinned_batch(2 + i)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                fit(brain, batch)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        # Only CUDA's own sync-debug warning counts (on the first GPU
        # visit a looser "synchroniz" match counted 1 in the micro-batch
        # that does not step, while the same step under the "error" mode
        # raised only at the stepping one): the messages are in the
        # failure report.
        syncs = [
            f"{w.filename}:{w.lineno}: {w.message}"
            for w in caught
            if "called a synchronizing CUDA operation" in str(w.message)
        ]
        counts.append(len(syncs))
        seen.append([f"{w.filename}:{w.lineno}: {w.message}" for w in caught])
    assert counts == [0, 1], (counts, seen)
