"""Smoke test of benchmarks/pretrain_step_bench.py on CPU, at toy sizes.

It checks that the full pretraining step of SpeechBrain's wav2vec2-base
and of our three recipe YAMLs runs end to end, that the report has its
columns (the ratio to SpeechBrain among them) and that the JSON is
written; it asserts nothing about speed. fp32, because bf16 autocast on
this CPU is about ten times slower than fp32 (the GPU run uses bf16).
"""

import pytest

from tests.conftest import benchmark_fixture, run_cpu_smoke

TINY = [
    "--device", "cpu",
    "--precision", "fp32",
    "--utt-seconds", "1",
    "--batch-seconds", "2",
    "--warmup", "1",
    "--iters", "2",
    "--set",
    "num_encoder_layers=2", "d_model=64", "d_ffn=128", "nhead=4",
    "kernel_size=7", "n_mels=20", "frontend_channels=[4,2]",
    "proj_dim=32", "quantiser_vars=16", "num_negatives=10",
    "--sb-set",
    "num_layers=2", "embedding_dim=64", "d_ffn=128", "nhead=4",
    "conv_dim=16", "extractor_dim=16", "final_dim=32",
    "quantiser_vars=16", "num_negatives=10",
    # SpeechBrain's compute_mask needs utterances of >= ~1.2 s at its
    # mask_length of 10; these are 0.7-1 s.
    "mask_length=5",
]  # fmt: skip


bench = benchmark_fixture("pretrain_step_bench")


def test_full_step_table_and_json(bench, tmp_path):
    text, saved = run_cpu_smoke(bench, TINY, tmp_path)
    assert "CPU SMOKE RUN, NOT A BENCHMARK" in text
    assert "### L = 1 s: 2 utterances per micro-batch" in text
    header = next(ln for ln in text.splitlines() if ln.startswith("| model"))
    for column in (
        "params M",
        "ms/step (median)",
        "audio-s/s",
        "× sb-wav2vec2-base",
        "peak GiB",
        "MFU %",
    ):
        assert column in header
    rows = [ln for ln in text.splitlines() if ln.startswith("| ")][1:]
    assert [row.split(" | ")[0][2:] for row in rows] == list(bench.MODELS)
    assert "| 1.00 |" in rows[0]  # the baseline against itself

    cells = saved["results"]
    assert [c["model"] for c in cells] == list(bench.MODELS)
    for cell in cells:
        assert cell["status"] == "ok", cell
        assert len(cell["times_ms"]) == 2
        assert cell["ms"] > 0 and cell["audio_s_per_s"] > 0
        assert cell["step_flops"] > 0 and cell["mfu_pct"] > 0
        assert cell["peak_gib"] is None  # no memory statistics on CPU
        assert cell["nonfinite_skipped"] == 0
        # flop count + 1 warm-up + 2 timed optimizer steps
        assert cell["optimizer_steps"] == 4
        assert 1.4 <= cell["audio_s"] <= 2.0 and cell["batch"] == 2
    ours = {c["model"]: c for c in cells[1:]}
    assert ours["summarymixing_w2v2"]["overrides"]["d_model"] == 64
    assert saved["meta"]["device"] == "cpu"
    assert saved["meta"]["command"].startswith("pretrain_step_bench.main")


def test_overrides_are_parsed_as_yaml(bench):
    args = bench.parse_args(
        [
            "--set",
            "d_model=64",
            "frontend_channels=[4, 2]",
            "flash_conformer_w2v2:num_encoder_layers=1",
            "--sb-set",
            "num_layers=1",
        ]
    )
    assert args.overrides == {"d_model": 64, "frontend_channels": [4, 2]}
    assert args.model_overrides == {
        "flash_conformer_w2v2": {"num_encoder_layers": 1}
    }
    assert args.sb_overrides == {"num_layers": 1}
    with pytest.raises(SystemExit):
        bench.parse_args(["--set", "no_equals_sign"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--models", "nonexistent"])


def test_batch_plan_matches_the_audio_budget(bench):
    assert bench.batch_plan(5, 200) == 47
    assert bench.batch_plan(12.5, 200) == 19
    assert bench.batch_plan(25, 200) == 9
    assert bench.batch_plan(25, 2) == 1
    pool = bench.make_pool(1.0, 4.0, 2, seed=0)
    assert len(pool) == 2
    for item in pool:
        lengths = item["lengths"]
        assert item["wavs"].shape == (len(lengths), 16000)
        assert int(lengths[0]) == 16000
        assert bool((lengths >= 11200).all())
        for row, n in enumerate(lengths.tolist()):
            real = item["wavs"][row, :n]
            assert bool((real != 0).all())  # never zeros on real samples
            assert bool((item["wavs"][row, n:] == 0).all())
