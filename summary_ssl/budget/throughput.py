"""Throughput of a pretraining step: measured when there is a measurement.

``benchmarks/pretrain_step_bench.py`` times one full optimizer step of the
recipe YAMLs on a GPU and writes JSON (``--json``) and markdown tables
(pasted into ``benchmarks/RESULTS.md``); the JSON of each GPU visit is
kept under ``benchmarks/gpu_runs/``. :func:`measured_throughput_table`
reads both once, for the maintainers
(``tools/update_measured_throughput.py``), into
``summary_ssl/budget/data/measured_throughput.json``, which ships with the
package: the planner reads that file (:func:`default_sources`), so an
installed wheel plans with the same measurements as the checkout, and
nothing is parsed from markdown at run time (``--measurements`` still
reads the benchmark's JSON or markdown when named). This module picks, for
a recipe on a GPU type, in this order:

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
counts the utilisation as the checkout does.

Authors
-------
* summary_ssl contributors 2026
"""

import dataclasses
import functools
import json
import re
from pathlib import Path

from summary_ssl.budget.hardware import DEFAULT_MFU, GPUS, gpu_kind

REPO = Path(__file__).resolve().parents[2]
# The measurements shipped with the package (see measured_throughput_table).
DATA = Path(__file__).resolve().parent / "data"
MEASURED_THROUGHPUT = DATA / "measured_throughput.json"
BASELINE_MODELS = ("sb-wav2vec2-base",)
# Where pretrain_step_bench.py finds the recipe YAMLs it steps.
DEFAULT_RECIPE_DIR = (
    "recipes/LibriSpeech/self-supervised-learning/wav2vec2/hparams"
)
# Overrides the benchmark sets that do not change the model.
_PATH_OVERRIDES = ("data_folder", "output_folder")


@dataclasses.dataclass
class Measurement:
    """One measured (model, utterance length) cell of a GPU run."""

    source: str
    gpu: str  # H100 / H200 / A100
    model: str  # recipe YAML stem
    utterance_seconds: float
    audio_s_per_s: float
    tflops: float  # the benchmark's FLOP count per second
    params_m: float
    precision: str
    compiled: bool
    date: str = ""  # the run's date (ISO), "" if unknown
    device_name: str = ""  # e.g. "NVIDIA H100 80GB HBM3"
    batch: int = 0  # utterances per micro-batch (0: unknown)
    audio_s: float = 0.0  # real audio per micro-batch (0: unknown)
    recipe_dir: str = DEFAULT_RECIPE_DIR  # relative to the repository
    overrides: dict = None  # the model's YAML overrides (None: unknown)
    # The planner's FLOPs per audio-second of the model (None: probe the
    # YAML; see planner_flops).
    planner_flops: float = None

    @property
    def mean_utterance_seconds(self):
        """Mean real utterance length of the measured batches (the
        nominal length when the batch is unknown)."""
        if self.batch and self.audio_s:
            return self.audio_s / self.batch
        return self.utterance_seconds

    def describe(self):
        """Where the cell comes from: file, device and date.

        Example
        -------
        >>> m = Measurement("b/x.json", "H100", "m", 12.5, 2000.0, 100.0,
        ...                 150.0, "bf16", False, "2026-11-26T14:41:16+00:00",
        ...                 "NVIDIA H100 80GB HBM3")
        >>> m.describe()
        'x.json, NVIDIA H100 80GB HBM3, 2026-11-26'
        """
        parts = [Path(self.source).name, self.device_name or self.gpu]
        if self.date:
            parts.append(self.date[:10])
        return ", ".join(parts)


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
    repository's ``benchmarks/`` by :func:`measured_throughput_table`)."""
    return [MEASURED_THROUGHPUT]


def benchmark_sources(bench=None):
    """The benchmark output of a checkout: ``gpu_runs/*.json``, ``*.json``,
    then ``RESULTS.md`` (its tables of the same runs are read once: see
    :func:`load_measurements`).

    Arguments
    ---------
    bench : str or Path, optional
        The ``benchmarks`` folder (default: this checkout's).

    Returns
    -------
    list of Path
    """
    bench = Path(bench) if bench is not None else REPO / "benchmarks"
    paths = sorted(bench.glob("gpu_runs/*.json")) + sorted(bench.glob("*.json"))
    paths += [bench / "RESULTS.md"]
    return [p for p in paths if p.is_file()]


def measured_throughput_table(bench=None):
    """The content of :data:`MEASURED_THROUGHPUT`: every GPU cell of the
    benchmark output of a checkout (:func:`benchmark_sources`), with its
    source relative to the repository and the planner's FLOPs per
    audio-second of its model (:func:`planner_flops`, probed here, where
    the recipe YAMLs are).

    ``tools/update_measured_throughput.py`` writes it; a test checks that
    the shipped file equals it.

    Arguments
    ---------
    bench : str or Path, optional
        The ``benchmarks`` folder (default: this checkout's).

    Returns
    -------
    dict
        ``about``, ``sources`` (relative paths) and ``measurements`` (one
        dictionary of :class:`Measurement` fields per cell).
    """
    bench = Path(bench) if bench is not None else REPO / "benchmarks"
    root = bench.resolve().parent
    paths = benchmark_sources(bench)
    cells = []
    for cell in load_measurements(paths):
        cell.planner_flops = planner_flops(cell)
        cell.source = Path(cell.source).resolve().relative_to(root).as_posix()
        cells.append(dataclasses.asdict(cell))
    return {
        "about": "GPU pretraining-step measurements the budget planner "
        "uses; made from benchmarks/ by tools/update_measured_throughput.py"
        " (do not edit by hand)",
        "sources": [p.resolve().relative_to(root).as_posix() for p in paths],
        "measurements": cells,
    }


def load_measurements(paths):
    """Every GPU pretraining-step cell in ``paths`` (the benchmark's JSON
    or markdown, or a table like :data:`MEASURED_THROUGHPUT`); a cell found
    again (the same run's table pasted into markdown) is kept once, from
    the first file that has it.

    Arguments
    ---------
    paths : list of str or Path

    Returns
    -------
    list of Measurement
    """
    found, seen = [], set()
    for path in map(Path, paths):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
            if "measurements" in data:  # a measured_throughput_table
                cells = [Measurement(**c) for c in data["measurements"]]
            else:
                cells = _from_json(data, str(path))
        else:
            cells = _from_markdown(text, str(path))
        for cell in cells:
            key = (
                cell.date,
                cell.gpu,
                cell.model,
                cell.utterance_seconds,
                cell.compiled,
                round(cell.audio_s_per_s),
            )
            if key not in seen:
                seen.add(key)
                found.append(cell)
    return found


def _model_overrides(overrides):
    return {k: v for k, v in overrides.items() if k not in _PATH_OVERRIDES}


def _from_json(data, source):
    meta = data.get("meta", {})
    kind = gpu_kind(meta.get("device_name"))
    if meta.get("device") != "cuda" or kind is None:
        return []
    found = []
    for cell in data.get("results", []):
        if cell.get("status") != "ok" or "audio_s_per_s" not in cell:
            continue
        if "utt_s" not in cell or cell.get("model") in BASELINE_MODELS:
            continue
        overrides = cell.get("overrides", meta.get("overrides", {})) or {}
        found.append(
            Measurement(
                source=source,
                gpu=kind,
                model=cell["model"],
                utterance_seconds=float(cell["utt_s"]),
                audio_s_per_s=float(cell["audio_s_per_s"]),
                tflops=float(cell["tflops"]),
                params_m=float(cell["params_M"]),
                precision=meta.get("precision", "bf16"),
                compiled=_compiled(cell, meta),
                date=meta.get("date", ""),
                device_name=meta.get("device_name", ""),
                batch=int(cell.get("batch", 0)),
                audio_s=float(cell.get("audio_s", 0.0)),
                recipe_dir=meta.get("recipe_dir_rel", DEFAULT_RECIPE_DIR),
                overrides=_model_overrides(overrides),
            )
        )
    return found


def _compiled(cell, meta):
    """Whether a JSON cell ran compiled: runs with both modes say it per
    cell (``mode``), older ones once for the run."""
    if "mode" in cell:
        return cell["mode"] == "compiled"
    return bool(meta.get("compile"))


_RUN = re.compile(r"^#+ Full pretraining step")
_LENGTH = re.compile(
    r"^#+ L = ([0-9.]+) s(?:: (\d+) utterances per micro-batch, "
    r"([0-9.]+) s of real audio)?"
)
_PEAK = re.compile(r"/ ([0-9.]+) TFLOP/s\s*$")


def _from_markdown(text, source):
    """Cells of the tables ``pretrain_step_bench.py`` prints (its header
    gives the device, date, precision, compile mode, the overrides and the
    MFU's peak)."""
    found, run, length, columns = [], None, None, None
    for line in text.splitlines():
        line = line.strip()
        if _RUN.match(line):
            cpu = "CPU SMOKE" in line
            run = None if cpu else {"precision": "bf16", "compiled": False}
            length = columns = None
        elif run is None:
            continue
        elif line.startswith("- device:"):
            run["device_name"] = line.split(":", 1)[1].strip()
            run["gpu"] = gpu_kind(run["device_name"])
        elif line.startswith("- date:"):
            run["date"] = line.split(":", 1)[1].strip()
        elif line.startswith("- models:") and " in " in line:
            run["recipe_dir"] = line.split(" in ", 1)[1].split()[0]
        elif line.startswith("- overrides: ours none"):
            run["overrides"] = {}
        elif line.startswith("- step:"):
            run["precision"] = line.split(":", 1)[1].split()[0].strip(";")
            run["compiled"] = "compile: no" not in line
        elif line.startswith("- MFU:") and _PEAK.search(line):
            run["peak"] = float(_PEAK.search(line).group(1))
        elif _LENGTH.match(line):
            match = _LENGTH.match(line)
            length = float(match.group(1))
            run["batch"] = int(match.group(2) or 0)
            run["audio_s"] = float(match.group(3) or 0.0)
        elif line.startswith("| model"):
            columns = [c.strip() for c in line.strip("|").split("|")]
        elif line.startswith("|") and columns and length is not None:
            cell = _markdown_row(line, columns, run, length, source)
            if cell is not None:
                found.append(cell)
    return found


_LABEL = re.compile(r"^(\S+) \((eager|compiled)\)$")


def _markdown_row(line, columns, run, length, source):
    values = dict(zip(columns, (c.strip() for c in line.strip("|").split("|"))))
    model = values.get("model", "")
    compiled = run["compiled"]
    label = _LABEL.match(model)  # "name (mode)" when a run has both modes
    if label:
        model, compiled = label.group(1), label.group(2) == "compiled"
    if not run.get("gpu") or model in BASELINE_MODELS or set(model) <= {"-"}:
        return None
    try:
        audio = float(values["audio-s/s"])
        mfu_pct = float(values["MFU %"])
        params_m = float(values["params M"])
    except (KeyError, ValueError):  # OOM, skipped, ERR
        return None
    return Measurement(
        source=source,
        gpu=run["gpu"],
        model=model,
        utterance_seconds=length,
        audio_s_per_s=audio,
        tflops=mfu_pct / 100.0 * run.get("peak", 800.0),
        params_m=params_m,
        precision=run["precision"],
        compiled=compiled,
        date=run.get("date", ""),
        device_name=run.get("device_name", ""),
        batch=run.get("batch", 0),
        audio_s=run.get("audio_s", 0.0),
        recipe_dir=run.get("recipe_dir", DEFAULT_RECIPE_DIR),
        overrides=run.get("overrides"),
    )


@functools.lru_cache(maxsize=32)
def _probed_flops(yaml, overrides, batch, utterance_seconds):
    from summary_ssl.budget.probe import probe_layers
    from summary_ssl.budget.recipe import Recipe

    recipe = Recipe(yaml, dict(overrides))
    probe = probe_layers(recipe, batch, utterance_seconds, objective_bytes=0)
    return probe.flops_per_audio_second()


def planner_flops(measurement):
    """The planner's FLOPs per audio-second of a measured model: the count
    the cell carries (``planner_flops``, in the shipped measurements), else
    its YAML (``recipe_dir/model.yaml`` of this checkout, with the run's
    overrides) probed at the cell's batch and mean real utterance length;
    None when the YAML or its overrides are unknown here."""
    if measurement.planner_flops is not None:
        return measurement.planner_flops
    yaml = REPO / measurement.recipe_dir / f"{measurement.model}.yaml"
    if measurement.overrides is None or not yaml.is_file():
        return None
    from summary_ssl.budget.recipe import utterances_per_batch

    length = measurement.mean_utterance_seconds
    try:
        batch = measurement.batch or utterances_per_batch(
            {"max_batch_length": 200.0}, length
        )
        overrides = tuple(sorted(measurement.overrides.items()))
        return _probed_flops(str(yaml), overrides, batch, round(length, 3))
    except (KeyError, TypeError, ValueError):  # not a wav2vec 2.0 recipe
        return None


def measured_mfu(measurement, flops_per_s=None):
    """Utilisation of a measured cell as the planner counts it: real
    audio-seconds per second x the planner's FLOPs per audio-second of
    the model (``flops_per_s``, default :func:`planner_flops`) over the
    GPU's spec-sheet dense peak. Without a planner count (the model's YAML
    is not in this checkout), the benchmark's own FLOP count is used.

    Arguments
    ---------
    measurement : Measurement
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
    measurements : list of Measurement
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
    others = _eager_first([m for m in cells if m.model == recipe_name] or cells)
    if others:
        value = _mfu_by_length(others, utterance_seconds, mfu_of)
        names = ", ".join(sorted({m.model for m in others}))
        return from_mfu(
            "measured-mfu",
            value,
            f"MFU {value:.1%} measured for {names} ({_mode(others)}) on "
            f"{gpu} ({_sources(others)}), applied to this model's FLOPs"
            + _other_models_note(others, recipe_name),
        )
    elsewhere = [m for m in usable if m.model == recipe_name] or usable
    elsewhere = _eager_first(elsewhere)
    if elsewhere:
        value = _mfu_by_length(elsewhere, utterance_seconds, mfu_of)
        names = ", ".join(sorted({m.model for m in elsewhere}))
        gpus = ", ".join(sorted({m.gpu for m in elsewhere}))
        return from_mfu(
            "extrapolated",
            value,
            f"EXTRAPOLATED: no measurement on {gpu}; MFU {value:.1%} "
            f"measured for {names} ({_mode(elsewhere)}) on {gpus} "
            f"({_sources(elsewhere)}), applied to the {gpu}'s dense peak "
            f"({spec.peak_tflops(precision):g} TFLOP/s) and this model's "
            "FLOPs" + _other_models_note(elsewhere, recipe_name),
        )
    return from_mfu(
        "assumed",
        DEFAULT_MFU,
        f"ASSUMED MFU {DEFAULT_MFU:.0%}: no GPU measurement of a pretraining "
        "step (benchmarks/gpu_runs/*.json, benchmarks/RESULTS.md)",
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
