"""Throughput of a pretraining step: measured when there is a measurement.

``benchmarks/pretrain_step_bench.py`` times one full optimizer step of the
recipe YAMLs on a GPU; ``tools/update_measured_throughput.py`` gathers its
cells into ``summary_ssl/budget/data/measured_throughput.json``, which
ships with the package and which the planner reads
(:func:`default_sources`, :mod:`~summary_ssl.budget.measurements`), so an
installed wheel plans with the same measurements as the checkout. This
module picks, for a recipe on a GPU type, in this order:

1. **measured**: a cell of the same YAML with the same parameter count
   (so the same model) on that GPU type: its audio-seconds per second,
   interpolated linearly in the utterance length (clamped outside the
   measured lengths);
2. **measured MFU**: cells of other sizes on that GPU type (the same YAML
   if possible, else any of this package's recipes): their utilisation,
   applied to this recipe's FLOPs;
3. **extrapolated**: cells measured on another GPU type only: their
   utilisation, applied to this GPU type's dense peak and this recipe's
   FLOPs (an extrapolation: it assumes the same fraction of the peak);
4. **assumed**: :data:`summary_ssl.budget.hardware.DEFAULT_MFU`, when no
   GPU measurement exists at all.

The utilisation of a measured cell is counted as the planner counts it
(:func:`measured_mfu`): the measured real audio-seconds per second times
the planner's FLOPs per audio-second of that model (the recipe's YAML,
probed at the cell's batch and mean real length, expected layerdrop)
over the GPU's spec-sheet dense peak. So a size change of a measured
recipe scales the throughput by FLOPs alone, with no jump from the
benchmark's own count (which includes the padding it executes and the
layers layerdrop skips, and divides by 800 TFLOP/s). CPU smoke runs are
ignored. The shipped file keeps that FLOP count of each cell
(``planner_flops``), so an installed package, which has no recipe YAMLs,
counts the utilisation as the checkout does; the package never reads a
recipe YAML or ``benchmarks/`` on its own (:func:`planner_flops`).

Authors
-------
* summary_ssl contributors 2026
"""

import dataclasses
import functools
from pathlib import Path

from summary_ssl.budget.hardware import DEFAULT_MFU, GPUS
from summary_ssl.budget.measurements import Measurement  # noqa: F401 (doctests)
from summary_ssl.budget.probe import probe_layers
from summary_ssl.budget.recipe import Recipe, utterances_per_batch

# The measurements shipped with the package (written by
# tools/update_measured_throughput.py).
DATA = Path(__file__).resolve().parent / "data"
MEASURED_THROUGHPUT = DATA / "measured_throughput.json"


@dataclasses.dataclass
class Throughput:
    """Audio-seconds per second per GPU, and where it comes from."""

    kind: str  # measured, measured-mfu, extrapolated, assumed
    mfu: float
    audio_s_per_s: float
    source: str


def default_sources():
    """The measurements the planner reads unless told otherwise: the JSON
    shipped with the package (:data:`MEASURED_THROUGHPUT`, made from this
    repository's ``benchmarks/`` by ``tools/update_measured_throughput.py``)."""
    return [MEASURED_THROUGHPUT]


@functools.lru_cache(maxsize=32)
def _probed_flops(yaml, overrides, batch, utterance_seconds):
    recipe = Recipe(yaml, dict(overrides))
    probe = probe_layers(recipe, batch, utterance_seconds, objective_bytes=0)
    return probe.flops_per_audio_second()


def planner_flops(measurement, recipe_root=None):
    """The planner's FLOPs per audio-second of a measured model: the count
    the cell carries (``planner_flops``: the shipped measurements), else,
    when ``recipe_root`` is given, its YAML
    (``recipe_root/recipe_dir/model.yaml``, with the run's overrides)
    probed at the cell's batch and mean real utterance length.
    None when neither is known: the package itself never looks for recipe
    YAMLs, so an installed wheel and a checkout count alike.

    Arguments
    ---------
    measurement : summary_ssl.budget.measurements.Measurement
    recipe_root : str or Path, optional
        The checkout the benchmark ran in (its ``recipe_dir`` is relative
        to it).

    Returns
    -------
    float or None

    Example
    -------
    >>> m = Measurement("x.json", "H100", "m", 12.5, 2000.0, 120.0, 150.0,
    ...                 "bf16", False, planner_flops=42e9)
    >>> planner_flops(m)
    42000000000.0
    >>> m.planner_flops = None
    >>> planner_flops(m) is None  # no YAML asked for
    True
    """
    if measurement.planner_flops is not None:
        return measurement.planner_flops
    if recipe_root is None:
        return None
    yaml = (
        Path(recipe_root) / measurement.recipe_dir / f"{measurement.model}.yaml"
    )
    if measurement.overrides is None or not yaml.is_file():
        return None
    length = measurement.mean_utterance_seconds
    try:
        batch = measurement.batch or utterances_per_batch(
            {"max_batch_length": 200.0}, length
        )
        overrides = tuple(sorted(measurement.overrides.items()))
        return _probed_flops(str(yaml), overrides, batch, round(length, 3))
    except (KeyError, TypeError, ValueError):  # not a wav2vec 2.0 recipe
        return None


def fill_planner_flops(measurements, recipe_root):
    """Gives every cell without a planner FLOP count the one probed from
    its YAML under ``recipe_root`` (:func:`planner_flops`), in place.

    Arguments
    ---------
    measurements : list of Measurement
    recipe_root : str or Path
        The checkout the benchmark ran in.

    Returns
    -------
    list of Measurement
        The same list.
    """
    for cell in measurements:
        cell.planner_flops = planner_flops(cell, recipe_root)
    return measurements


def measured_mfu(measurement, flops_per_s=None):
    """Utilisation of a measured cell as the planner counts it: real
    audio-seconds per second x the planner's FLOPs per audio-second of
    the model (``flops_per_s``, default :func:`planner_flops`) over the
    GPU's spec-sheet dense peak. Without a planner count (a benchmark JSON
    whose YAMLs were not found), the benchmark's own FLOP count is used.

    Arguments
    ---------
    measurement : summary_ssl.budget.measurements.Measurement
    flops_per_s : float, optional
        The model's FLOPs per audio-second, if already known.

    Returns
    -------
    float

    Example
    -------
    >>> m = Measurement("x.json", "H100", "m", 12.5, 2000.0, 120.0, 150.0,
    ...                 "bf16", False)
    >>> round(measured_mfu(m, flops_per_s=49.47e9), 4)  # 98.94 TFLOP/s
    0.1
    """
    peak = GPUS[measurement.gpu].peak_tflops(measurement.precision) * 1e12
    if flops_per_s is None:
        flops_per_s = planner_flops(measurement)
    if flops_per_s is None:
        return measurement.tflops * 1e12 / peak
    return measurement.audio_s_per_s * flops_per_s / peak


def _interpolate(points, x):
    """Linear interpolation in sorted (x, y) points, clamped at the ends."""
    points = sorted(points)
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def _eager_first(cells):
    """Eager cells if there are any (the recipe trains eager), else all."""
    eager = [c for c in cells if not c.compiled]
    return eager or cells


def _tensor_core_rate(precision):
    """bf16 and fp16 run matrix products at the same rate on the A100, H100
    and H200 (their spec sheets give one dense 16-bit figure), so a step
    measured in one stands for the other; fp32 does not."""
    return "16-bit" if precision in ("bf16", "fp16") else precision


def _mfu_by_length(cells, utterance_seconds, mfu_of):
    """Mean utilisation of ``cells`` at each measured length (several
    models at a length), interpolated at ``utterance_seconds``."""
    by_length = {}
    for m in cells:
        by_length.setdefault(m.utterance_seconds, []).append(mfu_of(m))
    points = [(x, sum(ys) / len(ys)) for x, ys in by_length.items()]
    return _interpolate(points, utterance_seconds)


def select_throughput(
    measurements,
    gpu,
    recipe_name,
    params,
    utterance_seconds,
    flops_per_s,
    precision="bf16",
    mfu=None,
    mfu_of=measured_mfu,
):
    """The throughput to plan with (see the module docstring).

    Arguments
    ---------
    measurements : list of summary_ssl.budget.measurements.Measurement
    gpu : str
        ``H100``, ``H200`` or ``A100``.
    recipe_name : str
        The YAML's stem.
    params : int
        The recipe's parameter count (model + objective).
    utterance_seconds : float
        The utterance length planned with.
    flops_per_s : float
        The recipe's FLOPs per second of audio.
    precision : str
        ``bf16``, ``fp16`` or ``fp32``.
    mfu : float, optional
        Forces this utilisation (ignores measurements).
    mfu_of : callable
        Measurement -> its utilisation (default :func:`measured_mfu`).

    Returns
    -------
    Throughput

    Example
    -------
    >>> select_throughput([], "H100", "x", 1, 1e9, 10.0).kind
    'assumed'
    >>> m = Measurement("h100.json", "H100", "x", 12.5, 2000.0, 120.0,
    ...                 150.0, "bf16", False, "2026-11-26", "H100 HBM3")
    >>> a100 = select_throughput([m], "A100", "x", 150e6, 12.5, 40e9,
    ...                          mfu_of=lambda m: 0.1)
    >>> a100.kind, round(a100.audio_s_per_s)  # 10% of 312 TFLOP/s / 40e9
    ('extrapolated', 780)
    """
    spec = GPUS[gpu]
    peak = spec.peak_tflops(precision) * 1e12

    def from_mfu(kind, value, source):
        return Throughput(kind, value, value * peak / flops_per_s, source)

    if mfu is not None:
        return from_mfu("assumed", mfu, "given with --mfu")
    rate = _tensor_core_rate(precision)
    usable = [m for m in measurements if _tensor_core_rate(m.precision) == rate]
    cells = [m for m in usable if m.gpu == gpu]
    same = _eager_first(
        [
            m
            for m in cells
            if m.model == recipe_name
            and abs(m.params_m * 1e6 - params) <= 0.005 * params
        ]
    )
    if same:
        points = [(m.utterance_seconds, m.audio_s_per_s) for m in same]
        audio = _interpolate(points, utterance_seconds)
        lengths = "/".join(f"{x:g}" for x in sorted({p[0] for p in points}))
        return Throughput(
            "measured",
            audio * flops_per_s / peak,
            audio,
            f"measured: {recipe_name} on {gpu}, {_mode(same)}, "
            f"{audio:,.0f} audio-s/s at {lengths} s utterances "
            f"({_sources(same)})",
        )

    def from_cells(kind, group, prefix, applied_to):
        value = _mfu_by_length(group, utterance_seconds, mfu_of)
        names = ", ".join(sorted({m.model for m in group}))
        gpus = ", ".join(sorted({m.gpu for m in group}))
        return from_mfu(
            kind,
            value,
            f"{prefix}MFU {value:.1%} measured for {names} ({_mode(group)}) "
            f"on {gpus} ({_sources(group)}), applied to {applied_to}FLOPs"
            + _other_models_note(group, recipe_name),
        )

    others = _eager_first([m for m in cells if m.model == recipe_name] or cells)
    if others:
        return from_cells("measured-mfu", others, "", "this model's ")
    elsewhere = [m for m in usable if m.model == recipe_name] or usable
    elsewhere = _eager_first(elsewhere)
    if elsewhere:
        return from_cells(
            "extrapolated",
            elsewhere,
            f"EXTRAPOLATED: no measurement on {gpu}; ",
            f"the {gpu}'s dense peak ({spec.peak_tflops(precision):g} "
            "TFLOP/s) and this model's ",
        )
    return from_mfu(
        "assumed",
        DEFAULT_MFU,
        f"ASSUMED MFU {DEFAULT_MFU:.0%}: no GPU measurement of a pretraining "
        "step (the shipped measured_throughput.json, or --measurements)",
    )


def _other_models_note(cells, recipe_name):
    """A caveat when the utilisation comes from another recipe."""
    if all(m.model == recipe_name for m in cells):
        return ""
    return (
        f" (no measurement of {recipe_name}: another model's utilisation, "
        "which varies with size and architecture)"
    )


def _mode(cells):
    return "/".join(
        sorted({"compiled" if m.compiled else "eager" for m in cells})
    )


def _sources(cells):
    return "; ".join(sorted({m.describe() for m in cells}))
