"""Smoke tests of benchmarks/encoder_bench.py on CPU, at toy sizes.

They check that the benchmark runs end to end, reports what it should and
writes its JSON; they assert nothing about speed.
"""

import pytest
import torch

from summary_ssl.budget.flops import flop_counter
from tests.conftest import benchmark_fixture, run_cpu_smoke

TINY = [
    "--device", "cpu",
    "--layers", "2",
    "--d-model", "32",
    "--d-ffn", "64",
    "--nhead", "4",
    "--kernel", "7",
    "--seq-lens", "16,32",
    "--frames", "64",
    "--warmup", "1",
    "--iters", "2",
]  # fmt: skip


bench = benchmark_fixture("encoder_bench")


def test_main_writes_table_and_json(bench, tmp_path):
    text, saved = run_cpu_smoke(
        bench, TINY + ["--encoders", "sb-RoPEMHA,SummaryMixing"], tmp_path
    )
    assert "speed × sb-RoPEMHA" in text
    assert "### T = 16 frames" in text and "### T = 32 frames" in text
    cells = saved["results"]
    assert [(c["encoder"], c["T"]) for c in cells] == [
        ("sb-RoPEMHA", 16),
        ("SummaryMixing", 16),
        ("sb-RoPEMHA", 32),
        ("SummaryMixing", 32),
    ]
    for cell in cells:
        assert cell["status"] == "ok", cell
        assert len(cell["times_ms"]) == 2
        assert cell["ms"] > 0 and cell["mfu_pct"] > 0
        assert cell["real_frames"] <= cell["total_frames"]
        assert cell["peak_gib"] is None  # no memory statistics on CPU
    ours = [c for c in cells if c["encoder"] == "SummaryMixing"]
    for cell in ours:  # the guard ran and bf16 stayed close to fp32
        assert cell["guard_eager_vs_fp32"]["rel_err"] < 5e-2
    # The baseline row's ratio is 1 by definition.
    base_rows = [ln for ln in text.splitlines() if ln.startswith("| sb-RoPE")]
    assert all("| 1.00 |" in row for row in base_rows)
    assert saved["meta"]["device"] == "cpu"
    assert saved["meta"]["command"].startswith("encoder_bench.main")


def test_oom_cell_is_reported_and_the_run_goes_on(bench, monkeypatch):
    real_run_cell = bench.run_cell

    def run_cell(cell, lengths, args, device):
        if cell["encoder"] == "sb-RoPEMHA" and cell["T"] == 32:
            cell["stage"] = "timing"
            raise torch.cuda.OutOfMemoryError("simulated")
        return real_run_cell(cell, lengths, args, device)

    monkeypatch.setattr(bench, "run_cell", run_cell)
    text, results = bench.main(
        TINY + ["--encoders", "sb-RoPEMHA,SummaryMixing-fast"]
    )
    status = {(c["encoder"], c["T"]): c["status"] for c in results["results"]}
    assert status[("sb-RoPEMHA", 32)] == "oom"
    assert status[("SummaryMixing-fast", 32)] == "ok"
    assert "| OOM |" in text and "OOM in timing" in text
    t32 = text.split("### T = 32")[1]
    fast_row = next(ln for ln in t32.splitlines() if "SummaryMixing-fast" in ln)
    assert "| n/a |" in fast_row  # no baseline at this T, no ratio


def test_lengths_and_inputs(bench):
    lengths = bench.make_lengths(100, 8, padded=True, seed=0)
    assert lengths[0] == 100 and len(lengths) == 8
    assert all(70 <= n <= 100 for n in lengths)
    assert bench.make_lengths(100, 8, padded=False, seed=0) == [100] * 8
    x, padding, grad = bench.make_inputs(lengths, 100, 4, "cpu", seed=0)
    assert x.requires_grad and x.shape == (8, 100, 4)
    assert (x != 0).all() and (grad != 0).all()
    assert padding.sum(dim=1).tolist() == [100 - n for n in lengths]


@pytest.mark.parametrize(
    "name",
    ["sb-regularMHA", "sb-RelPosMHAXL", "SummaryMixing",
     "SummaryMixing-lite", "SummaryMixing-fast"],
)  # fmt: skip
def test_step_flops_match_torch_counter(bench, name):
    """The planner's FLOP model, as the benchmark applies it, equals
    torch's count of a forward + backward step on an unpadded batch, and
    counts each utterance at its own length (SDPA-based mixers are left
    out: the counter does not see CPU SDPA kernels)."""
    args = bench.parse_args(TINY)
    model = bench.build_encoder(name, args)
    B, T = 3, 20
    with flop_counter() as counter:
        out = model(torch.randn(B, T, args.d_model, requires_grad=True), None)
        out.sum().backward()
    useful, executed = bench.step_flops(name, [T] * B, args)
    assert executed == counter.get_total_flops()
    alone = bench.step_flops(name, [T], args)[0]
    if name != "sb-RelPosMHAXL":  # it projects the positions once a batch
        assert useful == B * alone
    useful, _ = bench.step_flops(name, [T, T - 5], args)
    assert useful == alone + bench.step_flops(name, [T - 5], args)[0]
