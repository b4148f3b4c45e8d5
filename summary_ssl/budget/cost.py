"""What a recipe will cost before it runs: FLOPs, memory, hours, energy.

One way through :func:`estimate`, each step using what the one before
gave:

1. :func:`~summary_ssl.budget.probe.probe_layers` runs one micro-batch of
   the recipe on fake tensors, once, and counts from the shapes each
   module sees its FLOPs (:mod:`~summary_ssl.budget.flops`) and the bytes
   autograd saves (:mod:`~summary_ssl.budget.memory`): a ``StepProbe``;
2. from it, the FLOPs per second of audio (:func:`flops_summary`; other
   utterance lengths are probed the same way) and the peak memory
   (:func:`~summary_ssl.budget.memory.peak_memory`);
3. a throughput, measured or assumed, for those FLOPs
   (:mod:`~summary_ssl.budget.throughput`);
4. the schedule of the YAML (:mod:`~summary_ssl.budget.recipe`): steps,
   hours, energy and cost.

:mod:`~summary_ssl.budget.report` prints the dictionary and the CLI writes
it as JSON. No module below imports one above it.

Authors
-------
* summary_ssl contributors 2026
"""

from summary_ssl.budget.hardware import EXAMPLE_USD_PER_GPU_HOUR, GPUS
from summary_ssl.budget.memory import peak_memory
from summary_ssl.budget.probe import probe_layers
from summary_ssl.budget.recipe import (
    audio_seconds_per_step,
    default_utterance_seconds,
    optimizer_steps,
    utterances_per_batch,
)
from summary_ssl.budget.throughput import select_throughput


def _gflops(value):
    return round(value / 1e9, 3)


def flops_summary(probe):
    """FLOPs per second of audio by part (GFLOP), from a probe."""
    audio = probe.audio_seconds
    parts = {
        part: _gflops((probe.forward[part] + probe.backward[part]) / audio)
        for part in probe.forward
    }
    return {
        "per_audio_second_gflop": _gflops(probe.flops_per_audio_second()),
        "per_audio_second_all_layers_gflop": _gflops(
            probe.flops_per_audio_second(expected=False)
        ),
        "forward_share": round(
            sum(probe.forward.values())
            / sum(probe.forward[p] + probe.backward[p] for p in probe.forward),
            4,
        ),
        "by_part_gflop": parts,
        "not_counted_elementwise_gflop": _gflops(
            probe.elementwise_flops / audio
        ),
        "layerdrop": probe.layerdrop,
        "micro_batch_tflop": round(probe.step_flops() / 1e12, 3),
    }


def estimate(
    recipe,
    gpu="H100",
    gpus=1,
    utterance_seconds=None,
    data_hours=None,
    measurements=(),
    mfu=None,
    usd_per_gpu_hour=EXAMPLE_USD_PER_GPU_HOUR,
    length_sweep=True,
):
    """The cost of a recipe's whole schedule on ``gpus`` GPUs of a type.

    Arguments
    ---------
    recipe : summary_ssl.budget.recipe.Recipe
        The recipe (YAML and overrides).
    gpu : str
        ``H100``, ``H200`` or ``A100``.
    gpus : int
        GPUs training together (DDP); each gets ``max_batch_length``.
    utterance_seconds : float, optional
        Utterance length for attention's quadratic term and the batch
        composition; default: the middle of the duration filter.
    data_hours : float, optional
        Hours of audio in the training set: passes over it, and the steps
        when the schedule has no ``optimizer_step_limit``.
    measurements : list of summary_ssl.budget.measurements.Measurement
        Measured pretraining steps (empty: the MFU assumption).
    mfu : float, optional
        Forces this utilisation.
    usd_per_gpu_hour : float
        Price for the cost line.
    length_sweep : bool
        Also the FLOPs per audio-second at the duration filter's ends.

    Returns
    -------
    dict
    """
    spec = GPUS[gpu]
    precision = recipe.get("precision", "fp32")
    utt = float(utterance_seconds or default_utterance_seconds(recipe))
    batch = utterances_per_batch(recipe, utt)
    probe = probe_layers(recipe, batch, utt)
    flops = flops_summary(probe)
    if length_sweep:
        flops["by_utterance_seconds_gflop"] = _length_sweep(recipe, probe)
    throughput = select_throughput(
        measurements,
        gpu,
        recipe.name,
        probe.params,
        utt,
        probe.flops_per_audio_second(),
        precision,
        mfu,
    )
    steps = optimizer_steps(recipe, gpus, data_hours)
    per_step = audio_seconds_per_step(recipe, gpus)
    audio_hours = steps * per_step / 3600.0
    gpu_hours = audio_hours / throughput.audio_s_per_s

    encoder = recipe.encoder
    result = {
        "recipe": {
            "yaml": str(recipe.path),
            "overrides": recipe.overrides,
            # The encoder's own, when it has one (duck typing: a staged
            # S3LSpeech encoder has none), else the YAML's.
            "attention_type": getattr(
                encoder, "attention_type", recipe.get("attention_type")
            ),
            "num_encoder_layers": probe.layers,
            "d_model": recipe.get("d_model"),
            "precision": precision,
        },
        "parameters": {
            "total": probe.params,
            "model": probe.model_params,
            "objective": probe.params - probe.model_params,
            "ema_teacher": probe.frozen_params,
        },
        "assumptions": {
            "utterance_seconds": utt,
            "utterances_per_micro_batch": batch,
            "encoder_frames_per_utterance": probe.frames,
            "masked_fraction": round(
                probe.masked_frames / (batch * probe.frames), 4
            ),
        },
        "flops": flops,
        "memory_gib": {k: round(v, 2) for k, v in peak_memory(probe).items()},
        "schedule": {
            "gpus": gpus,
            "optimizer_steps": steps,
            "audio_seconds_per_step": per_step,
            "audio_hours": round(audio_hours, 1),
            "data_hours": data_hours,
            "passes_over_data": (
                round(audio_hours / data_hours, 1) if data_hours else None
            ),
        },
        "throughput": {
            "kind": throughput.kind,
            "source": throughput.source,
            "mfu": round(throughput.mfu, 4),
            "audio_seconds_per_second_per_gpu": round(
                throughput.audio_s_per_s, 1
            ),
        },
        "projection": {
            "gpu": gpu,
            "gpu_name": spec.name,
            "peak_tflops": spec.peak_tflops(precision),
            "gpu_memory_gb": spec.memory_gb,
            "gpu_hours": round(gpu_hours, 1),
            "wall_clock_hours": round(gpu_hours / gpus, 1),
            "energy_kwh": round(gpu_hours * spec.board_power_w / 1000.0, 1),
            "board_power_w": spec.board_power_w,
            "usd_per_gpu_hour": usd_per_gpu_hour,
            "cost_usd": round(gpu_hours * usd_per_gpu_hour, 0),
            "spec_source": spec.source,
        },
    }
    return result


def _length_sweep(recipe, probe):
    """FLOPs per audio-second at the duration filter's ends and at the
    probe's length (attention's quadratic term shows here)."""
    lengths = {
        float(recipe.get("min_duration") or probe.utterance_seconds),
        probe.utterance_seconds,
        float(recipe.get("max_duration") or probe.utterance_seconds),
    }
    per_frame = probe.objective_bytes // max(probe.objective_frames, 1)
    sweep = {}
    for length in sorted(lengths):
        if length == probe.utterance_seconds:
            other = probe
        else:
            batch = utterances_per_batch(recipe, length)
            other = probe_layers(recipe, batch, length, per_frame)
        sweep[f"{length:g}"] = _gflops(other.flops_per_audio_second())
    return sweep
