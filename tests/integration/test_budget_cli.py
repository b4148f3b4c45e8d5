"""``python -m summary_ssl.budget`` on the three recipe YAMLs, full size
(the model is built on fake tensors: no forward pass costs compute)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from summary_ssl.budget.__main__ import main
from summary_ssl.budget.hardware import DEFAULT_MFU
from summary_ssl.budget.recipe import Recipe
from tests.unittests.test_budget_planner import _write_runs
from tools.toy import PRETRAIN_RECIPE, REPO

HPARAMS = PRETRAIN_RECIPE / "hparams"
YAMLS = ("summarymixing_w2v2", "flash_conformer_w2v2", "mhsa_conformer_w2v2")
S3L_HPARAMS = PRETRAIN_RECIPE.parent / "s3lspeech" / "hparams"
S3L_YAMLS = ("s3lspeech", "s3lspeech_summarymixing")


@pytest.mark.parametrize("name", YAMLS)
def test_cli_costs_each_recipe(name, tmp_path, capsys):
    out = tmp_path / "cost.json"
    result = main(
        [
            str(HPARAMS / f"{name}.yaml"),
            "--gpus=4",
            "--data-hours=4300",
            "--measurements",  # none: the MFU assumption
            "--json",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    params = result["parameters"]
    assert params["total"] == params["model"] + params["objective"]
    assert f"{params['total'] / 1e6:.2f} M" in text
    # The paper's schedule: 300k steps x 360 s x 4 accumulation x 4 GPUs.
    assert result["schedule"]["audio_hours"] == pytest.approx(480_000)
    assert result["schedule"]["passes_over_data"] == pytest.approx(111.6)
    assert "ASSUMED MFU" in text and result["throughput"]["kind"] == "assumed"
    assert result["throughput"]["mfu"] == DEFAULT_MFU
    flops = result["flops"]
    sweep = flops["by_utterance_seconds_gflop"]
    assert list(sweep) == ["10", "20", "30"]  # the YAML's length filter
    assert 30 < flops["per_audio_second_gflop"] < 80
    if name == "summarymixing_w2v2":  # linear in time: flat per second
        assert max(sweep.values()) / min(sweep.values()) < 1.02
    else:  # attention's quadratic term
        assert sweep["30"] > sweep["20"] > sweep["10"]
    projection = result["projection"]
    assert projection["gpu_hours"] == pytest.approx(
        480_000 / result["throughput"]["audio_seconds_per_second_per_gpu"],
        rel=1e-3,
    )
    assert projection["energy_kwh"] == pytest.approx(
        projection["gpu_hours"] * 0.7, rel=1e-3
    )
    memory = result["memory_gib"]
    assert 0 < memory["objective_activations"] < memory["activations"]
    assert memory["peak"] > memory["activations"]


@pytest.mark.parametrize("name", S3L_YAMLS)
def test_cli_costs_each_s3lspeech_recipe(name, tmp_path, capsys):
    """The teacher-student YAMLs (student, EMA teacher, objective)."""
    yaml = S3L_HPARAMS / f"{name}.yaml"
    out = tmp_path / "cost.json"
    result = main([str(yaml), "--measurements", "--json", str(out)])
    text = capsys.readouterr().out
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    recipe = Recipe(yaml)
    params = result["parameters"]
    assert params["total"] == recipe.parameter_count()
    assert params["ema_teacher"] == sum(
        p.numel() for p in recipe["teacher"].parameters()
    )
    assert "EMA teacher" in text and "ASSUMED MFU" in text
    assert result["recipe"]["num_encoder_layers"] == 4
    # 12.5k steps x 1080 s x 4 accumulated batches on one GPU
    assert result["schedule"]["audio_hours"] == pytest.approx(15_000)
    flops = result["flops"]
    parts = flops["by_part_gflop"]
    assert parts["teacher"] > 0 and parts["objective"] > 0
    # The teacher runs forward only: about a third of the student's
    # encoder forward + backward, on a little more audio (the shift).
    student = parts["frontend"] + parts["encoder_layers"] + parts["other"]
    assert 0.25 < parts["teacher"] / student < 0.45
    assert 1 < flops["per_audio_second_gflop"] < 10
    sweep = flops["by_utterance_seconds_gflop"]
    assert list(sweep) == ["1", "18.5", "36"]  # the YAML's length filter
    memory = result["memory_gib"]
    assert 0 < memory["objective_activations"] < memory["activations"]


def test_budget_proposals_refuse_teacher_student_recipes():
    yaml = str(S3L_HPARAMS / "s3lspeech.yaml")
    with pytest.raises(SystemExit, match="wav2vec 2.0 recipes only"):
        main([yaml, "--budget-gpu-hours=24", "--measurements"])


def test_cli_uses_measured_throughput(tmp_path, capsys):
    """A benchmark JSON given with --measurements is used; its markdown
    tables are refused with the reason; --recipes-root names the checkout
    where a run without the planner's FLOP count finds its YAML (other
    sizes then use the planner's count), and alone it is refused."""
    yaml = str(HPARAMS / "summarymixing_w2v2.yaml")
    recipe = Recipe(HPARAMS / "summarymixing_w2v2.yaml")
    runs = _write_runs(tmp_path, recipe.parameter_count() / 1e6)
    json_run, markdown_run = map(str, runs["cuda"])
    result = main([yaml, "--utterance-seconds=5", "--measurements", json_run])
    text = capsys.readouterr().out
    assert result["throughput"]["kind"] == "measured"
    assert result["throughput"]["audio_seconds_per_second_per_gpu"] == 2000
    assert "measured: summarymixing_w2v2 on H100" in text
    assert "ASSUMED" not in text
    with pytest.raises(SystemExit, match="step benchmark's JSON"):
        main([yaml, "--measurements", markdown_run])
    with pytest.raises(SystemExit):
        main([yaml, "--recipes-root", str(REPO)])
    assert "--recipes-root: only read with" in capsys.readouterr().err

    # The benchmark's own count differs from the planner's (it counts the
    # padding it runs, say): twice it, in this run.
    run = json.loads(Path(json_run).read_text())
    for cell in run["results"]:
        cell["tflops"] *= 2
    Path(json_run).write_text(json.dumps(run))
    smaller = [yaml, "--d_model=512", "--utterance-seconds=5"]
    elsewhere = main(  # no YAML there: the benchmark's count
        [*smaller, "--measurements", json_run, "--recipes-root", str(tmp_path)]
    )["throughput"]
    probed = main(
        [*smaller, "--measurements", json_run, "--recipes-root", str(REPO)]
    )["throughput"]
    assert elsewhere["kind"] == probed["kind"] == "measured-mfu"
    assert elsewhere["mfu"] == pytest.approx(2 * probed["mfu"], rel=0.05)


def test_cli_plans_a_budget_with_a_plot(tmp_path):
    """As a user runs it: a subprocess, overrides on the command line."""
    plot, out = tmp_path / "plan.png", tmp_path / "plan.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "summary_ssl.budget",
            str(HPARAMS / "summarymixing_w2v2.yaml"),
            "--budget-gpu-hours=24",
            "--gpu=H100",
            "--data-hours=960",
            "--widths=256,384,768",
            "--measurements",
            "--plot",
            str(plot),
            "--json",
            str(out),
            "--kernel_size=15",  # a YAML override
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.read_text())
    assert plot.stat().st_size > 10_000
    assert result["slim"]["layers"] > result["wide"]["layers"]
    assert result["slim"]["gpu_hours"] <= 24
    assert result["command"] in done.stdout
    assert "--kernel_size=15" in result["command"]  # the user's override
    assert "arXiv 2409.16295" in done.stdout


def test_unknown_override_is_an_error():
    with pytest.raises(SystemExit, match="not_a_key"):
        main([str(HPARAMS / "flash_conformer_w2v2.yaml"), "--not_a_key=1"])


def test_schedule_without_step_limit_needs_the_data_size(capsys):
    yaml = str(HPARAMS / "flash_conformer_w2v2.yaml")
    limitless = ["--optimizer_step_limit=null", "--number_of_epochs=10"]
    with pytest.raises(SystemExit, match="--data-hours"):
        main([yaml, *limitless, "--measurements"])
    result = main([yaml, *limitless, "--data-hours=100", "--measurements"])
    # 10 epochs of 100 h in steps of 360 s x 4 accumulated batches
    assert result["schedule"]["optimizer_steps"] == 2500
    assert result["schedule"]["audio_hours"] == 1000


def test_options_in_any_position_are_honoured_or_refused(tmp_path, capsys):
    """--json after the YAML (as a new user types it), before it, and as
    --json=PATH write the JSON; an option the mode would ignore, a
    misspelt or abbreviated option are refused with the right name."""
    yaml = str(HPARAMS / "flash_conformer_w2v2.yaml")
    for i, argv in enumerate(
        (
            [yaml, "--json", "{}", "--measurements"],
            ["--json", "{}", yaml, "--measurements"],
            ["--measurements", "--json={}", yaml],
            [yaml, "--d_model", "512", "--json", "{}", "--measurements"],
        )
    ):
        out = tmp_path / f"cost{i}.json"
        result = main([a.format(out) for a in argv])
        assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    full = json.loads((tmp_path / "cost0.json").read_text())
    assert result["parameters"]["total"] < full["parameters"]["total"]
    with pytest.raises(SystemExit, match="did you mean --json"):
        main([yaml, "--jso", str(tmp_path / "x.json"), "--measurements"])
    with pytest.raises(SystemExit, match="did you mean --json"):
        main([yaml, "--JSON", str(tmp_path / "x.json"), "--measurements"])
    with pytest.raises(SystemExit, match="did you mean --mask_prob"):
        main([yaml, "--mask_prb=0.5", "--measurements"])
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(SystemExit):
        main([yaml, "--plot", str(tmp_path / "p.png"), "--measurements"])
    assert "--plot: only the planner uses it" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([yaml, "--budget-gpu-hours=24", "--usd-per-gpu-hour=3"])
    assert "--usd-per-gpu-hour: the planner" in capsys.readouterr().err


def test_the_command_a_new_user_types_writes_the_json(tmp_path):
    out = tmp_path / "out.json"
    yaml = HPARAMS / "summarymixing_w2v2.yaml"
    command = [sys.executable, "-m", "summary_ssl.budget", str(yaml)]
    done = subprocess.run(
        [*command, "--json", str(out), "--measurements"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.read_text())["parameters"]["total"] > 0
    assert "projection" in done.stdout


def test_an_overlay_yaml_is_costed_as_its_base_with_its_keys():
    """The Libri-Light recipes' overlays (base_hparams) cost like the
    LibriSpeech YAML they adjust, with their keys as overrides."""

    overlay = (
        PRETRAIN_RECIPE.parents[2]
        / "Libri-Light/self-supervised-learning/wav2vec2/hparams"
        / "summarymixing_w2v2.yaml"
    )
    recipe = Recipe(overlay, {"num_encoder_layers": 2})
    assert recipe.path == PRETRAIN_RECIPE / "hparams/summarymixing_w2v2.yaml"
    assert recipe.hparams["data_source"] == "librilight"
    assert recipe.hparams["max_duration"] == 20.2
    assert len(recipe.encoder.layers) == 2  # the command line still wins
