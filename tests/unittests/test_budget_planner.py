"""Budget planner: proposals that fit, slim deeper than wide at equal FLOPs,
and throughput read from the benchmark's own JSON output (never from its
markdown tables)."""

import shlex
from pathlib import Path

import pytest

from summary_ssl.budget.hardware import DEFAULT_MFU, GPUS
from summary_ssl.budget.measurements import load_measurements
from summary_ssl.budget.planner import (
    EQUAL_FLOPS_TOLERANCE,
    REFERENCE_RECIPES,
    frames_per_param,
    override_line,
    plan,
    width_families,
)
from summary_ssl.budget.recipe import Recipe, audio_seconds_per_step
from summary_ssl.budget.throughput import (
    MEASURED_THROUGHPUT,
    default_sources,
    fill_planner_flops,
    measured_mfu,
    planner_flops,
    select_throughput,
)
from tests.conftest import benchmark_script
from tools import update_measured_throughput as tool
from tools.toy import PRETRAIN_RECIPE

BASE = PRETRAIN_RECIPE / "hparams" / "summarymixing_w2v2.yaml"
REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
WIDTHS = (128, 192, 256, 384, 512)


@pytest.fixture(scope="module")
def base():
    return Recipe(BASE)


@pytest.fixture(scope="module")
def plans(base):
    families = width_families(base, WIDTHS)
    return {
        budget: plan(base, budget, data_hours=960, families=families)
        for budget in (2.0, 10.0)
    }


def test_proposals_fit_the_budget(plans, base):
    per_step = audio_seconds_per_step(base)
    for budget, result in plans.items():
        for shape in ("slim", "wide"):
            proposal = result[shape]
            assert proposal is not None
            assert 0 < proposal["gpu_hours"] <= budget
            assert proposal["optimizer_steps"] >= 1
            assert proposal["audio_hours"] == pytest.approx(
                proposal["optimizer_steps"] * per_step / 3600, abs=0.1
            )
            assert proposal["peak_memory_gib"] < GPUS["H100"].memory_gb
        assert result["throughput"]["kind"] == "assumed"
        assert result["throughput"]["mfu"] == DEFAULT_MFU


def test_slim_is_deeper_and_narrower_than_wide_at_equal_flops(plans):
    for result in plans.values():
        slim, wide = result["slim"], result["wide"]
        assert slim["layers"] > wide["layers"]
        assert slim["d_model"] < wide["d_model"]
        ratio = wide["gflop_per_audio_second"] / slim["gflop_per_audio_second"]
        assert abs(ratio - 1) <= EQUAL_FLOPS_TOLERANCE


def test_a_larger_budget_buys_a_larger_model(plans):
    assert plans[10.0]["slim"]["params"] > plans[2.0]["slim"]["params"]


def test_override_line_builds_the_proposed_model(plans, base):
    slim = plans[2.0]["slim"]
    command = override_line(base, slim)
    assert command.startswith("python train.py hparams/summarymixing_w2v2.yaml")
    overrides = {}
    for item in shlex.split(command)[3:]:
        key, value = item[2:].split("=")
        overrides[key] = int(value)
    assert overrides["optimizer_step_limit"] == slim["optimizer_steps"]
    assert overrides["warmup_steps"] == round(slim["optimizer_steps"] * 0.1)
    for key in ("optimizer_step_limit", "warmup_steps"):
        overrides.pop(key)
    assert Recipe(BASE, overrides).parameter_count() == slim["params"]


def test_reference_frames_per_parameter():
    assert frames_per_param(REFERENCE_RECIPES["summarymixing_ssl"]) == (
        pytest.approx(557.4, abs=0.1)
    )
    assert frames_per_param(REFERENCE_RECIPES["wav2vec2_base"]) == (
        pytest.approx(1212.6, abs=0.1)
    )


# -- throughput from the benchmark's output ----------------------------


def _bench():
    return benchmark_script("pretrain_step_bench")


def _run(device, params_m):
    """``meta`` and cells as pretrain_step_bench writes them, for two
    lengths: SpeechBrain's baseline and summarymixing_w2v2."""
    meta = {
        "date": "2026-01-01T00:00:00+00:00",
        "device": device,
        "device_name": "NVIDIA H100 80GB HBM3" if device == "cuda" else "CPU",
        "torch": "2.11.0",
        "speechbrain": "1.1.2",
        "python": "3.12",
        "cuda": "13.0",
        "command": "python benchmarks/pretrain_step_bench.py",
        "recipe_dir_rel": "recipes/LibriSpeech/self-supervised-learning/"
        "wav2vec2/hparams",
        "overrides": {},
        "sb_overrides": {},
        "batch_seconds": 200.0,
        "grad_accum": 1,
        "pool": 2,
        "precision": "bf16",
        "fused_adamw": "ours",
        "warmup": 3,
        "iters": 10,
        "compile": False,
        "peak_tflops": 800.0,
    }
    cells = []
    for utt_s, audio in ((5.0, 2000.0), (12.5, 1800.0)):
        for model, params, speed in (
            ("sb-wav2vec2-base", 90.9, 0.5),
            ("summarymixing_w2v2", params_m, 1.0),
        ):
            tflops = 80.0 * speed
            cells.append(
                {
                    "model": model,
                    "utt_s": utt_s,
                    "status": "ok",
                    "params_M": params,
                    "ms": 100.0,
                    "audio_s_per_s": audio * speed,
                    "tflops": tflops,
                    "mfu_pct": 100.0 * tflops / 800.0,
                    "peak_gib": 20.0,
                    "batch": 10,
                    "audio_s": 170.0,
                    "padded_s": 200.0,
                    "optimizer": "AdamW fused",
                }
            )
    return meta, cells


def _write_runs(tmp_path, params_m):
    """The same measurements as JSON and as RESULTS.md-style markdown,
    plus a CPU smoke run that must be ignored."""
    bench = _bench()
    common = bench.common
    paths = {}
    for device in ("cuda", "cpu"):
        meta, cells = _run(device, params_m)
        json_path = tmp_path / f"{device}.json"
        common.write_json(json_path, meta, cells)
        args = type("Args", (), {"compile": False, "grad_accum": 1})
        text = "\n".join(bench.header_lines(meta)) + "\n\n"
        for utt_s in (5.0, 12.5):
            group = [c for c in cells if c["utt_s"] == utt_s]
            text += "\n".join(bench.table_for_length(utt_s, group, args))
            text += "\n\n"
        md_path = tmp_path / f"{device}.md"
        md_path.write_text(text)
        paths[device] = (json_path, md_path)
    return paths


def test_measured_throughput_is_read_and_interpolated(tmp_path, base):
    params = base.parameter_count()
    paths = _write_runs(tmp_path, params / 1e6)
    measured = load_measurements([paths["cuda"][0]])
    assert {m.model for m in measured} == {"summarymixing_w2v2"}
    assert load_measurements([paths["cpu"][0]]) == []  # smoke run
    with pytest.raises(ValueError, match="JSON"):  # tables are for people
        load_measurements([paths["cuda"][1]])
    # A run without the planner's count: none unless its checkout is named.
    assert {planner_flops(m) for m in measured} == {None}
    fill_planner_flops(measured, REPO)

    flops = 40e9
    same = select_throughput(
        measured, "H100", "summarymixing_w2v2", params, 8.75, flops
    )
    assert same.kind == "measured"
    assert same.audio_s_per_s == pytest.approx(1900.0)  # halfway
    assert same.mfu == pytest.approx(1900.0 * flops / 989.4e12)

    # Other sizes: the measured utilisation in the planner's own count
    # (measured audio-s/s x the probed model's FLOPs per audio-second).
    at_five = [m for m in measured if m.utterance_seconds == 5.0]
    model_flops = planner_flops(at_five[0], REPO)
    assert model_flops == pytest.approx(42e9, rel=0.1)
    mfu = 2000.0 * model_flops / 989.4e12
    assert measured_mfu(at_five[0]) == pytest.approx(mfu)
    other = select_throughput(
        measured, "H100", "summarymixing_w2v2", params // 2, 5.0, flops
    )
    assert other.kind == "measured-mfu"
    assert other.mfu == pytest.approx(mfu)
    assert other.audio_s_per_s == pytest.approx(mfu * 989.4e12 / flops)

    # No measurement on that GPU type: the H100's utilisation applied to
    # the A100's peak, and said so.
    elsewhere = select_throughput(
        measured, "A100", "summarymixing_w2v2", params, 5.0, flops
    )
    assert elsewhere.kind == "extrapolated"
    assert elsewhere.mfu == pytest.approx(mfu)
    assert elsewhere.audio_s_per_s == pytest.approx(mfu * 312e12 / flops)
    assert "EXTRAPOLATED: no measurement on A100" in elsewhere.source
    assert "on H100" in elsewhere.source

    nothing = select_throughput(
        [], "A100", "summarymixing_w2v2", params, 5.0, flops
    )
    assert nothing.kind == "assumed" and nothing.mfu == DEFAULT_MFU
    assert "ASSUMED MFU 10%" in nothing.source


def test_shipped_measurement_is_the_default_source(base):
    """The package ships the H100 step benchmark of 2026-11-26 (from
    benchmarks/gpu_runs/) as JSON: the planner reads it without being
    told, and no markdown, and plans the recipe with its audio-s/s."""
    assert default_sources() == [MEASURED_THROUGHPUT]
    assert MEASURED_THROUGHPUT.suffix == ".json"
    found = load_measurements(default_sources())
    ours = [m for m in found if m.date.startswith("2026-11-26T14:41")]
    assert [(m.model, m.gpu, m.compiled) for m in ours] == [
        ("summarymixing_w2v2", "H100", False)
    ]
    cell = ours[0]
    assert cell.source == "benchmarks/gpu_runs/h100_2026-11-26_step.json"
    assert cell.audio_s_per_s == pytest.approx(2169.19, abs=0.01)
    assert cell.params_m * 1e6 == pytest.approx(
        base.parameter_count(), rel=1e-5
    )
    assert planner_flops(cell) == cell.planner_flops  # shipped, not probed
    throughput = select_throughput(
        found, "H100", "summarymixing_w2v2", base.parameter_count(), 20.0, 42e9
    )
    assert throughput.kind == "measured"
    assert throughput.audio_s_per_s == pytest.approx(2169.19, abs=0.01)
    assert "h100_2026-11-26_step.json" in throughput.source
    assert "NVIDIA H100 80GB HBM3, 2026-11-26" in throughput.source


@pytest.mark.skipif(
    not (BENCH / "gpu_runs").is_dir(), reason="no benchmarks/ folder"
)
def test_shipped_measurements_are_those_of_the_benchmarks():
    """The shipped JSON is what tools/update_measured_throughput.py makes
    from this checkout's benchmarks/ (a run added there without rerunning
    it, or a change to the planner's FLOP count, fails here); each cell
    is the one read from the benchmark's own JSON, and RESULTS.md's
    tables are not read."""
    table = tool.measured_throughput_table()
    shipped = MEASURED_THROUGHPUT.read_text(encoding="utf-8")
    assert shipped == tool.render(table), (
        "run python tools/update_measured_throughput.py"
    )
    assert table["sources"] == ["benchmarks/gpu_runs/h100_2026-11-26_step.json"]
    read = load_measurements(tool.benchmark_sources())
    assert len(read) == len(table["measurements"])
    for cell, row in zip(read, load_measurements(default_sources())):
        assert Path(cell.source).name == Path(row.source).name
        assert row.planner_flops == planner_flops(cell, REPO)
        row.source, row.planner_flops = cell.source, None
        assert row == cell


def test_runs_with_eager_and_compiled_cells_are_told_apart(tmp_path):
    """A run of both modes (gpu_check.sh's) labels its rows 'model
    (mode)' in its tables and its JSON cells carry 'mode': the reader
    keeps the model name and marks the compiled cells."""
    bench = _bench()
    meta, cells = _run("cuda", 155.0)
    meta.update(compile=True, modes=["eager", "compiled"])
    ours = [c for c in cells if c["model"] == "summarymixing_w2v2"]
    compiled = [dict(c, audio_s_per_s=2 * c["audio_s_per_s"]) for c in ours]
    for c in cells:
        c.update(mode="eager", label=f"{c['model']} (eager)")
    for c in compiled:
        c.update(mode="compiled", label="summarymixing_w2v2 (compiled)")
    cells += compiled
    json_path = tmp_path / "both.json"
    bench.common.write_json(json_path, meta, cells)
    args = type("Args", (), {"compile": True, "grad_accum": 1})
    text = "\n".join(bench.header_lines(meta)) + "\n\n"
    for utt_s in (5.0, 12.5):
        group = [c for c in cells if c["utt_s"] == utt_s]
        text += "\n".join(bench.table_for_length(utt_s, group, args)) + "\n\n"
    assert "| summarymixing_w2v2 (compiled) |" in text
    found = load_measurements([json_path])
    assert {m.model for m in found} == {"summarymixing_w2v2"}
    assert sorted(m.compiled for m in found) == [False, False, True, True]
    fast = [m.audio_s_per_s for m in found if m.compiled]
    slow = [m.audio_s_per_s for m in found if not m.compiled]
    assert sorted(fast) == sorted(2 * a for a in slow)
