"""Model size, steps and audio for a compute budget.

Liu et al. 2024 ("Efficient training of self-supervised speech foundation
models on a compute budget", arXiv 2409.16295, SLT 2024) found that, under
a fixed compute budget, slimmer (deeper, narrower) models beat common
small architectures at the same compute and parameter budget, that the
amount of pretraining data matters more than the SSL objective (and
augmentation does not replace it), and that there is an optimal model size
for a budget, with a U-shaped curve around it (:data:`PAPER_GUIDANCE`).

The paper's own tables could not be read while writing this planner (only
its abstract), so the size rule below is this planner's, not the paper's:
a model should see as many audio frames per parameter as a reference
recipe that worked (:data:`REFERENCE_RECIPES`; by default the SummaryMixing
SSL recipe this package reproduces), i.e. frames seen grow in proportion to
parameters, the form Hoffmann et al. (2022, arXiv 2203.15556) found
compute-optimal for language models. At a fixed budget a larger model sees
fewer frames per parameter, so the rule picks one size.

Shapes: *slim* is ``width / depth`` about 32 (e.g. 12 x 384; the proposal
may deviate by 1.5x to hit the size), *wide* about 256 (e.g. 3 x 768), with
the FFN ratio and head size of the base YAML. The wide proposal is the one
of equal FLOPs (within 10%) to the slim one, so both see the same audio
within the budget.

Authors
-------
* summary_ssl contributors 2026
"""

import math

from summary_ssl.budget.hardware import GPUS
from summary_ssl.budget.memory import peak_memory
from summary_ssl.budget.probe import probe_step
from summary_ssl.budget.recipe import (
    audio_seconds_per_step,
    default_utterance_seconds,
    utterances_per_batch,
)
from summary_ssl.budget.throughput import select_throughput

SLIM_ASPECT = 32
WIDE_ASPECT = 256
WIDTHS = (128, 192, 256, 320, 384, 448, 512, 640, 768, 1024)
EQUAL_FLOPS_TOLERANCE = 0.10
FRAME_RATE = 50.0  # frames per second of the reference recipes

PAPER = (
    "Liu, Lin, Wu, Winkler, Lee 2024, 'Efficient training of "
    "self-supervised speech foundation models on a compute budget', "
    "arXiv 2409.16295 (abstract, read 2026)"
)
PAPER_GUIDANCE = [
    (
        "Slimmer model architectures outperform common small "
        "architectures under the same compute and parameter budget.",
        "proposes a slim shape (width/depth 32) and, for comparison, a "
        "wide one (width/depth ~256) of equal FLOPs",
    ),
    (
        "The size of the pre-training data remains crucial, even with data "
        "augmentation; performance suffers when iterating over limited "
        "data.",
        "reports the passes over your data (--data-hours) and warns above "
        "the passes of the reference recipes",
    ),
    (
        "There is a trade-off between model size and data size, with an "
        "optimal model size for a given compute budget.",
        "picks the size whose frames seen per parameter match a reference "
        "recipe (this planner's rule, not the paper's numbers)",
    ),
    (
        "Other factors (architecture, model and data size) matter more "
        "than the choice of SSL objective.",
        "keeps the recipe's wav2vec 2.0 objective",
    ),
]
PAPER_UNVERIFIED = (
    "Not read from the paper itself: a third-party summary "
    "(themoonlight.io) describes its comparison as a 3-layer 'Small' model "
    "against a 12-layer 'Slim' one of about 20M parameters, and LibriSpeech "
    "subsets from 1 h to 960 h; its optimal sizes and budgets are not "
    "reproduced here."
)

REFERENCE_RECIPES = {
    "summarymixing_ssl": {
        "params": 155e6,
        "audio_hours": 300_000 * 1.6,
        "data_hours": 4300.0,
        "source": "Zhang et al. 2024, arXiv 2407.13377: 155M parameters, "
        "300k steps x 1.6 h of audio, Libri-Light medium (4.3k h)",
    },
    "wav2vec2_base": {
        "params": 95e6,
        "audio_hours": 400_000 * 1.6,
        "data_hours": 960.0,
        "source": "Baevski et al. 2020, arXiv 2006.11477: BASE, 95M "
        "parameters, 400k updates x 1.6 h batches, LibriSpeech 960 h",
    },
}


def frames_per_param(reference):
    """Audio frames (50 Hz) a reference recipe showed each parameter.

    Example
    -------
    >>> round(frames_per_param(REFERENCE_RECIPES["summarymixing_ssl"]))
    557
    """
    frames = reference["audio_hours"] * 3600.0 * FRAME_RATE
    return frames / reference["params"]


def size_overrides(base, layers, width):
    """YAML overrides for ``layers`` x ``width``, keeping the base YAML's
    FFN ratio and (as near as a divisor of the width allows) head size."""
    d_model = base["d_model"]
    ffn_ratio = base["d_ffn"] / d_model
    head_size = d_model / base["nhead"]
    divisors = [h for h in range(1, width + 1) if width % h == 0]
    nhead = min(divisors, key=lambda h: abs(width / h - head_size))
    return {
        "num_encoder_layers": layers,
        "d_model": width,
        "d_ffn": int(round(ffn_ratio * width)),
        "nhead": nhead,
    }


class WidthFamily:
    """A probe of one width with one encoder layer: any depth by
    :meth:`summary_ssl.budget.probe.StepProbe.with_layers`."""

    def __init__(self, base, width, batch, utterance_seconds):
        self.base, self.width = base, width
        one = base.with_overrides(**size_overrides(base, 1, width))
        self.probe = probe_step(one, batch, utterance_seconds)

    def at(self, layers):
        """The probe of ``layers`` layers."""
        return self.probe.with_layers(layers)


def width_families(base, widths=WIDTHS, utterance_seconds=None):
    """One :class:`WidthFamily` per width (what :func:`plan` computes
    first; independent of the budget, so it can be reused).

    Arguments
    ---------
    base : summary_ssl.budget.recipe.Recipe
    widths : tuple of int
    utterance_seconds : float, optional
        Default: the middle of the duration filter.

    Returns
    -------
    dict
        width -> WidthFamily
    """
    utt = float(utterance_seconds or default_utterance_seconds(base))
    batch = utterances_per_batch(base, utt)
    return {w: WidthFamily(base, w, batch, utt) for w in widths}


def _sig(value, digits=4):
    return float(f"{value:.{digits}g}")


def _candidate(family, layers, context):
    """Everything the planner reports about ``layers`` x ``family.width``."""
    probe = family.at(layers)
    flops = probe.flops_per_audio_second()
    audio_rate = context["mfu"] * context["peak"] / flops  # audio-s / s
    budget_audio_s = context["budget_gpu_hours"] * 3600.0 * audio_rate
    per_step = context["audio_per_step"]
    steps = int(budget_audio_s // per_step)
    audio_hours = steps * per_step / 3600.0
    frames = audio_hours * 3600.0 * probe.frames / probe.utterance_seconds
    data_hours = context["data_hours"]
    memory = peak_memory(probe)
    return {
        "layers": layers,
        "d_model": family.width,
        "overrides": size_overrides(context["base"], layers, family.width),
        "params": probe.params,
        "gflop_per_audio_second": round(flops / 1e9, 3),
        "audio_seconds_per_second": round(audio_rate, 1),
        "optimizer_steps": steps,
        "audio_hours": round(audio_hours, 1),
        "gpu_hours": round(audio_hours / audio_rate, 2),
        "frames_per_param": round(frames / probe.params, 1),
        "passes_over_data": round(audio_hours / data_hours, 2),
        "gpu_hours_per_pass": _sig(data_hours / audio_rate),
        "gpu_hours_to_target": _sig(
            context["target"]
            * probe.params
            / (probe.frames / probe.utterance_seconds)
            / 3600.0
            / audio_rate
        ),
        "peak_memory_gib": round(memory["peak"], 2),
    }


def plan(
    base,
    budget_gpu_hours,
    gpu="H100",
    gpus=1,
    data_hours=960.0,
    utterance_seconds=None,
    measurements=(),
    mfu=None,
    target_frames_per_param=None,
    widths=WIDTHS,
    families=None,
):
    """Slim and wide proposals for a budget, and the sweep behind them.

    Arguments
    ---------
    base : summary_ssl.budget.recipe.Recipe
        The recipe to resize (mixer, front end, objective, batch).
    budget_gpu_hours : float
        GPU-hours to spend (all GPUs together).
    gpu : str
        ``H100``, ``H200`` or ``A100``.
    gpus : int
        GPUs training together (sets the audio per optimizer step).
    data_hours : float
        Hours of audio you have.
    utterance_seconds : float, optional
        Utterance length planned with (default: middle of the duration
        filter).
    measurements : list of summary_ssl.budget.measurements.Measurement
        Measured steps (their MFU is used for every size).
    mfu : float, optional
        Forces this utilisation.
    target_frames_per_param : float, optional
        Frames seen per parameter to aim at (default: the SummaryMixing
        SSL recipe's, :func:`frames_per_param`).
    widths : tuple of int
        Widths to consider.
    families : dict, optional
        :func:`width_families` of ``base`` at this utterance length, when
        already computed (``widths`` is then ignored).

    Returns
    -------
    dict
        ``slim`` and ``wide`` (the proposals), ``sweep`` (every width in
        both shapes), ``throughput``, ``target_frames_per_param``,
        ``warnings``, ``guidance`` and ``references``.
    """
    spec = GPUS[gpu]
    precision = base.get("precision", "fp32")
    if families is None:
        families = width_families(base, widths, utterance_seconds)
    utt = next(iter(families.values())).probe.utterance_seconds
    target = target_frames_per_param or frames_per_param(
        REFERENCE_RECIPES["summarymixing_ssl"]
    )
    # One utilisation for every size: measured for this recipe (any size)
    # or another of ours on this GPU type, else assumed. (A parameter
    # count of -1 never matches a measured model exactly, and only the
    # MFU is used, so the FLOP rate given is a placeholder.)
    throughput = select_throughput(
        measurements, gpu, base.name, -1, utt, 1.0, precision, mfu
    )
    context = {
        "base": base,
        "mfu": throughput.mfu,
        "peak": spec.peak_tflops(precision) * 1e12,
        "budget_gpu_hours": float(budget_gpu_hours),
        "audio_per_step": audio_seconds_per_step(base, gpus),
        "data_hours": float(data_hours),
        "target": target,
    }
    sweep = {"slim": [], "wide": []}
    for width, family in families.items():
        for shape, aspect in (("slim", SLIM_ASPECT), ("wide", WIDE_ASPECT)):
            layers = max(1, round(width / aspect))
            sweep[shape].append(_candidate(family, layers, context))
    slim = _slim_choice(families, context)
    wide = _wide_twin(slim, families, context)
    return {
        "budget_gpu_hours": float(budget_gpu_hours),
        "gpu": gpu,
        "gpus": gpus,
        "data_hours": float(data_hours),
        "utterance_seconds": utt,
        "throughput": {
            "kind": throughput.kind,
            "mfu": round(throughput.mfu, 4),
            "source": throughput.source,
        },
        "target_frames_per_param": round(target, 1),
        "slim": slim,
        "wide": wide,
        "sweep": sweep,
        "warnings": _warnings(slim, spec),
        "guidance": [
            {"finding": f, "planner": p, "source": PAPER}
            for f, p in PAPER_GUIDANCE
        ],
        "unverified": PAPER_UNVERIFIED,
        "references": {
            name: {**ref, "frames_per_param": round(frames_per_param(ref), 1)}
            for name, ref in REFERENCE_RECIPES.items()
        },
        "memory_gb": spec.memory_gb,
    }


def _slim_choice(families, context):
    """The slim shape (width/depth within 1.5x of :data:`SLIM_ASPECT`)
    whose frames seen per parameter are nearest to the target (in log),
    with a slight preference for the exact aspect."""
    best, best_score = None, math.inf
    for width, family in families.items():
        low = max(1, math.floor(width / (SLIM_ASPECT * 1.5)))
        high = max(low, math.ceil(width * 1.5 / SLIM_ASPECT))
        for layers in range(low, high + 1):
            candidate = _candidate(family, layers, context)
            if candidate["frames_per_param"] <= 0:
                continue
            score = abs(
                math.log(candidate["frames_per_param"] / context["target"])
            )
            score += 0.1 * abs(math.log(width / layers / SLIM_ASPECT))
            if score < best_score:
                best, best_score = candidate, score
    return best


def _wide_twin(slim, families, context):
    """The wide shape of equal FLOPs: wider and shallower than ``slim``,
    FLOPs within :data:`EQUAL_FLOPS_TOLERANCE`, aspect nearest to
    :data:`WIDE_ASPECT` (the closest FLOPs when nothing is in tolerance)."""
    options = []
    for width, family in families.items():
        if width <= slim["d_model"]:
            continue
        for layers in range(1, slim["layers"]):
            candidate = _candidate(family, layers, context)
            mismatch = abs(
                candidate["gflop_per_audio_second"]
                / slim["gflop_per_audio_second"]
                - 1.0
            )
            aspect = abs(math.log(width / layers / WIDE_ASPECT))
            options.append((mismatch, aspect, candidate))
    if not options:
        return None
    within = [o for o in options if o[0] <= EQUAL_FLOPS_TOLERANCE]
    if within:
        return min(within, key=lambda o: (o[1], o[0]))[2]
    return min(options, key=lambda o: o[0])[2]


def _warnings(chosen, spec):
    notes = []
    passes = chosen["passes_over_data"]
    most = max(
        ref["audio_hours"] / ref["data_hours"]
        for ref in REFERENCE_RECIPES.values()
    )
    if passes > most:
        notes.append(
            f"{passes:g} passes over your data, more than the reference "
            f"recipes' (at most {most:.0f}): the paper finds that iterating "
            "over limited data hurts; more data would help more than more "
            "steps"
        )
    if passes < 1:
        notes.append(
            f"the budget sees {passes:.0%} of your data once: the model "
            "size is then set by the budget alone"
        )
    if chosen["peak_memory_gib"] > spec.memory_gb:
        notes.append(
            f"peak memory {chosen['peak_memory_gib']:.0f} GiB exceeds the "
            f"{spec.memory_gb:g} GB of an {spec.name}: lower max_batch_length "
            "and raise grad_accumulation_factor"
        )
    if chosen["optimizer_steps"] < 1:
        notes.append("the budget does not pay for one optimizer step")
    return notes


def override_line(base, proposal, gpus=1):
    """The recipe command for a proposal: the base recipe's overrides, the
    size, the steps, and the warmup at the base YAML's warmup-to-steps
    ratio (``torchrun`` for several GPUs)."""
    overrides = {**base.overrides, **proposal["overrides"]}
    steps = max(1, proposal["optimizer_steps"])
    overrides["optimizer_step_limit"] = steps
    limit, warmup = base.get("optimizer_step_limit"), base.get("warmup_steps")
    if limit and warmup is not None:
        overrides["warmup_steps"] = max(1, round(steps * warmup / limit))
    args = " ".join(f"--{k}={v}" for k, v in overrides.items())
    launcher = "python" if gpus == 1 else f"torchrun --nproc_per_node={gpus}"
    return f"{launcher} train.py hparams/{base.path.name} {args}"
