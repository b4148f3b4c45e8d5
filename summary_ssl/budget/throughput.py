"""Throughput of a pretraining step: measured when there is a measurement.

``benchmarks/pretrain_step_bench.py`` times one full optimizer step of the
recipe YAMLs on a GPU and writes JSON (``--json``) and markdown tables
(pasted into ``benchmarks/RESULTS.md``). This module reads both and picks,
for a recipe on a GPU type:

1. **measured**: a cell of the same YAML with the same parameter count
   (so the same model) on that GPU type: its audio-seconds per second,
   interpolated linearly in the utterance length (clamped outside the
   measured lengths);
2. **measured MFU**: cells of other sizes on that GPU type (the same YAML
   if possible, else any of this package's recipes): their utilisation,
   applied to this recipe's FLOPs (smaller models usually reach less);
3. **assumed MFU**: :data:`summary_ssl.budget.hardware.DEFAULT_MFU`.

CPU smoke runs are ignored.

Authors
-------
* summary_ssl contributors 2026
"""

import dataclasses
import json
import re
from pathlib import Path

from summary_ssl.budget.hardware import DEFAULT_MFU, GPUS, gpu_kind

REPO = Path(__file__).resolve().parents[2]
BASELINE_MODELS = ("sb-wav2vec2-base",)


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


@dataclasses.dataclass
class Throughput:
    """Audio-seconds per second per GPU, and where it comes from."""

    kind: str  # measured, measured-mfu, assumed
    mfu: float
    audio_s_per_s: float
    source: str


def default_sources():
    """``benchmarks/RESULTS.md`` and the benchmark JSON files of this
    checkout (``benchmarks/*.json``, ``benchmarks/results/*.json``)."""
    bench = REPO / "benchmarks"
    paths = [bench / "RESULTS.md"]
    paths += sorted(bench.glob("*.json")) + sorted(bench.glob("results/*.json"))
    return [p for p in paths if p.is_file()]


def load_measurements(paths):
    """Every GPU pretraining-step cell in ``paths`` (JSON or markdown).

    Arguments
    ---------
    paths : list of str or Path

    Returns
    -------
    list of Measurement
    """
    found = []
    for path in map(Path, paths):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            found += _from_json(json.loads(text), str(path))
        else:
            found += _from_markdown(text, str(path))
    return found


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
            )
        )
    return found


def _compiled(cell, meta):
    """Whether a JSON cell ran compiled: runs with both modes say it per
    cell (``mode``), older ones once for the run."""
    if "mode" in cell:
        return cell["mode"] == "compiled"
    return bool(meta.get("compile"))


_RUN = re.compile(r"^## Full pretraining step")
_LENGTH = re.compile(r"^### L = ([0-9.]+) s")
_PEAK = re.compile(r"/ ([0-9.]+) TFLOP/s\s*$")


def _from_markdown(text, source):
    """Cells of the tables ``pretrain_step_bench.py`` prints (its header
    gives the device, precision, compile mode and the MFU's peak)."""
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
            run["gpu"] = gpu_kind(line.split(":", 1)[1])
        elif line.startswith("- step:"):
            run["precision"] = line.split(":", 1)[1].split()[0].strip(";")
            run["compiled"] = "compile: no" not in line
        elif line.startswith("- MFU:") and _PEAK.search(line):
            run["peak"] = float(_PEAK.search(line).group(1))
        elif _LENGTH.match(line):
            length = float(_LENGTH.match(line).group(1))
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
    )


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


def select_throughput(
    measurements,
    gpu,
    recipe_name,
    params,
    utterance_seconds,
    flops_per_s,
    precision="bf16",
    mfu=None,
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

    Returns
    -------
    Throughput

    Example
    -------
    >>> select_throughput([], "H100", "x", 1, 1e9, 10.0).kind
    'assumed'
    """
    peak = GPUS[gpu].peak_tflops(precision) * 1e12

    def from_mfu(kind, value, source):
        return Throughput(kind, value, value * peak / flops_per_s, source)

    if mfu is not None:
        return from_mfu("assumed", mfu, "given with --mfu")
    cells = [
        m
        for m in measurements
        if m.gpu == gpu
        and _tensor_core_rate(m.precision) == _tensor_core_rate(precision)
    ]
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
        return Throughput(
            "measured",
            audio * flops_per_s / peak,
            audio,
            f"measured: {recipe_name} on {gpu} ({_sources(same)})",
        )
    others = [m for m in cells if m.model == recipe_name] or cells
    others = _eager_first(others)
    if others:
        points = [(m.utterance_seconds, m.tflops * 1e12 / peak) for m in others]
        # Several models at a length: their mean utilisation.
        by_length = {}
        for x, y in points:
            by_length.setdefault(x, []).append(y)
        points = [(x, sum(ys) / len(ys)) for x, ys in by_length.items()]
        value = _interpolate(points, utterance_seconds)
        names = sorted({m.model for m in others})
        return from_mfu(
            "measured-mfu",
            value,
            f"MFU measured for {', '.join(names)} (other sizes) on {gpu} "
            f"({_sources(others)})",
        )
    return from_mfu(
        "assumed",
        DEFAULT_MFU,
        f"ASSUMED MFU {DEFAULT_MFU:.0%}: no GPU measurement of a pretraining "
        "step on this GPU type",
    )


def _sources(cells):
    return ", ".join(sorted({Path(m.source).name for m in cells}))
