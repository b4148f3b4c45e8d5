"""Cost of a pretraining recipe before it runs, and model sizes for a
budget.

    python -m summary_ssl.budget HPARAMS.yaml [--key=value ...] [options]

prints the parameters, the forward + backward FLOPs per second of audio,
the activation and peak memory, the schedule's audio hours and the
projected GPU-hours, energy and cost on a GPU type. ``--key=value``
arguments that are not options below override the YAML, as on the
recipe's command line (``--d_model=512 --num_encoder_layers=8``).

    python -m summary_ssl.budget HPARAMS.yaml --budget-gpu-hours 24 \\
        --gpu H100 --data-hours 960 [--plot plan.png]

proposes a slim and a wide model of equal FLOPs for that budget, with the
steps and hours of audio each can see, and prints the slim one's recipe
command. ``--json PATH`` writes the same numbers as JSON.

Options and overrides may come in any order, before or after the YAML.
Each is honoured or refused: an option that only the planner uses
(``--plot``, ``--widths``, ``--frames-per-param``) without
``--budget-gpu-hours``, ``--usd-per-gpu-hour`` with it, and a
``--key`` that is neither an option nor a key of the YAML (with the
closest names as a suggestion) are errors; options are never
abbreviated, so ``--jso`` is refused rather than taken for ``--json``.

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import json
import sys
from pathlib import Path

import yaml

from summary_ssl.brains.hparams_keys import override_errors, top_level_keys
from summary_ssl.budget.cost import estimate
from summary_ssl.budget.hardware import EXAMPLE_USD_PER_GPU_HOUR, GPUS
from summary_ssl.budget.measurements import load_measurements
from summary_ssl.budget.planner import WIDTHS, override_line, plan
from summary_ssl.budget.recipe import Recipe, ScheduleError
from summary_ssl.budget.report import format_plan, format_report
from summary_ssl.budget.throughput import default_sources, fill_planner_flops


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m summary_ssl.budget",
        description=__doc__.split("\n\n")[0],
        epilog="Other --key=value arguments override the YAML.",
        allow_abbrev=False,  # a short --key is a YAML key or an error
    )
    p.add_argument("hparams", help="the recipe YAML")

    def option(name, **kwargs):
        names = dict.fromkeys([f"--{name}", f"--{name.replace('-', '_')}"])
        p.add_argument(*names, **kwargs)

    option("gpu", choices=sorted(GPUS), default="H100")
    option("gpus", type=int, default=1, help="GPUs training together")
    option(
        "utterance-seconds",
        type=float,
        help="utterance length for attention's quadratic term and the "
        "batch composition (default: middle of min/max_duration)",
    )
    option(
        "data-hours",
        type=float,
        help="hours of audio you have (passes over it; steps when the "
        "YAML has no optimizer_step_limit; planner default 960)",
    )
    option("mfu", type=float, help="use this utilisation (0-1), not measured")
    option(
        "measurements",
        nargs="*",
        help="step benchmark JSON files (pretrain_step_bench.py --json; "
        "default: the measurements shipped with the package, "
        "summary_ssl/budget/data/measured_throughput.json, which "
        "tools/update_measured_throughput.py writes from benchmarks/)",
    )
    option(
        "recipes-root",
        help="with --measurements: the checkout the benchmark ran in, "
        "whose YAMLs give the measured models' FLOP count as the planner "
        "counts it (default: the current folder); where a YAML is not "
        "found, the benchmark's own count is used",
    )
    option(
        "usd-per-gpu-hour",
        type=float,
        help="price for the cost line (default: an example price, "
        f"{EXAMPLE_USD_PER_GPU_HOUR})",
    )
    option("budget-gpu-hours", type=float, help="plan for this budget")
    option(
        "frames-per-param",
        type=float,
        help="planner: audio frames to show each parameter (default: the "
        "SummaryMixing SSL recipe's)",
    )
    option(
        "widths",
        type=lambda text: tuple(int(w) for w in text.split(",")),
        help="planner: model widths to consider, comma-separated "
        f"(default {','.join(map(str, WIDTHS))})",
    )
    option("plot", help="planner: write the figure here (PNG, PDF, ...)")
    option("json", help="write the numbers as JSON here ('-': stdout)")
    return p


def parse_overrides(extra):
    """``--key=value`` / ``--key value`` items to a dict (YAML values).

    Example
    -------
    >>> parse_overrides(["--d_model=512", "--mixer_options", "{}"])
    {'d_model': 512, 'mixer_options': {}}
    """
    overrides, items = {}, list(extra)
    while items:
        item = items.pop(0)
        if not item.startswith("--") or len(item) == 2:
            raise SystemExit(f"unexpected argument {item!r}")
        key, sep, value = item[2:].partition("=")
        if not sep:
            if not items:
                raise SystemExit(f"--{key} needs a value")
            value = items.pop(0)
        overrides[key] = yaml.safe_load(value)
    return overrides


PLANNER_ONLY = ("plot", "widths", "frames_per_param")


def _refuse_unused(args, parser):
    """Options the chosen mode would ignore are errors."""
    if args.recipes_root is not None and args.measurements is None:
        parser.error("--recipes-root: only read with --measurements")
    if args.budget_gpu_hours is None:
        unused = [name for name in PLANNER_ONLY if vars(args)[name]]
        why = "only the planner uses it: add --budget-gpu-hours"
    else:
        unused = ["usd_per_gpu_hour"] * (args.usd_per_gpu_hour is not None)
        why = "the planner does not use it (the cost estimate does)"
    if unused:
        parser.error(
            "; ".join(f"--{n.replace('_', '-')}: {why}" for n in unused)
        )


def _check_override_keys(path, overrides, parser):
    """Overrides of keys the YAML lacks (a misspelt option, often) are
    refused with the closest option or key."""
    text = Path(path).read_text(encoding="utf-8")
    options = [
        s[2:]
        for a in parser._actions
        for s in a.option_strings
        if s[:2] == "--"
    ]
    errors = override_errors(
        top_level_keys(text), overrides, Path(path).name, extra=options
    )
    if errors:
        raise SystemExit(
            "bad override (neither an option nor a key of the YAML):\n  "
            + "\n  ".join(errors)
        )


def main(argv=None):
    """Runs the CLI; returns the result dictionary."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    overrides = parse_overrides(extra)
    _refuse_unused(args, parser)
    _check_override_keys(args.hparams, overrides, parser)
    try:
        recipe = Recipe(args.hparams, overrides)
    except KeyError as error:  # hyperpyyaml: a nested key the YAML lacks
        raise SystemExit(f"bad override: {error}") from error
    if args.measurements is None:
        measurements = load_measurements(default_sources())
    else:
        try:
            measurements = load_measurements(args.measurements)
        except ValueError as error:
            raise SystemExit(str(error)) from error
        fill_planner_flops(measurements, args.recipes_root or ".")
    try:
        result, text = _run(args, recipe, measurements)
    except ScheduleError as error:
        raise SystemExit(str(error)) from error
    if args.json == "-":
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        print(text)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


def _run(args, recipe, measurements):
    """(result, text) of a cost estimate or of a budget plan."""
    if args.budget_gpu_hours is None:
        result = estimate(
            recipe,
            gpu=args.gpu,
            gpus=args.gpus,
            utterance_seconds=args.utterance_seconds,
            data_hours=args.data_hours,
            measurements=measurements,
            mfu=args.mfu,
            usd_per_gpu_hour=EXAMPLE_USD_PER_GPU_HOUR
            if args.usd_per_gpu_hour is None
            else args.usd_per_gpu_hour,
        )
        text = format_report(result)
    elif recipe.is_teacher_student:
        raise ScheduleError(
            "--budget-gpu-hours proposes sizes of the wav2vec 2.0 recipes "
            "only; a teacher-student YAML is costed without it"
        )
    else:
        result = plan(
            recipe,
            args.budget_gpu_hours,
            gpu=args.gpu,
            gpus=args.gpus,
            data_hours=args.data_hours or 960.0,
            utterance_seconds=args.utterance_seconds,
            measurements=measurements,
            mfu=args.mfu,
            target_frames_per_param=args.frames_per_param,
            widths=args.widths or WIDTHS,
        )
        result["command"] = override_line(recipe, result["slim"], args.gpus)
        text = format_plan(result, result["command"])
        if args.plot:
            from summary_ssl.budget.plot import plot_plan

            plot_plan(result, args.plot)
            text += f"\nplot: {args.plot}"
    return result, text


if __name__ == "__main__":
    main()
