"""Measured pretraining steps: the cells of ``pretrain_step_bench.py``'s
output, as the planner plans with them.

:func:`load_measurements` reads the table the package ships
(``summary_ssl/budget/data/measured_throughput.json``, written by
``tools/update_measured_throughput.py``), or the files named with
``--measurements``: the benchmark's JSON (``--json``; its markdown tables
are for people, never parsed). CPU smoke runs and SpeechBrain's baseline
are left out.

Authors
-------
* summary_ssl contributors 2026
"""

import dataclasses
import json
from pathlib import Path

from summary_ssl.budget.hardware import gpu_kind

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
    # YAML with budget.throughput.planner_flops(cell, recipe_root)).
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


def load_measurements(paths):
    """Every GPU pretraining-step cell in ``paths`` (the benchmark's JSON,
    or a table like :data:`MEASURED_THROUGHPUT`); a cell found again (the
    same run named twice) is kept once, from the first file that has it.

    Arguments
    ---------
    paths : list of str or Path

    Returns
    -------
    list of Measurement

    Raises
    ------
    ValueError
        For a file that is not JSON (e.g. the benchmark's markdown).
    """
    found, seen = [], set()
    for path in map(Path, paths):
        if path.suffix != ".json":
            raise ValueError(
                f"{path}: measurements are read from the step benchmark's "
                "JSON (pretrain_step_bench.py --json), not from its tables"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        if "measurements" in data:  # a measured_throughput_table
            cells = [Measurement(**c) for c in data["measurements"]]
        else:
            cells = _from_json(data, str(path))
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
                planner_flops=cell.get("planner_flops"),
            )
        )
    return found


def _compiled(cell, meta):
    """Whether a JSON cell ran compiled: runs with both modes say it per
    cell (``mode``), older ones once for the run."""
    if "mode" in cell:
        return cell["mode"] == "compiled"
    return bool(meta.get("compile"))
