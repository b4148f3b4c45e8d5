"""One cell of the step benchmark: a Brain built from its YAML (ours, or
SpeechBrain's baseline), its optimizer, its FLOPs counted, compiled if
asked, and timed (``pretrain_step_bench.py``).

Authors
-------
* summary_ssl contributors 2026
"""

import functools
import math
import time
import types
from pathlib import Path

import bench_common as common
import torch
from hyperpyyaml import load_hyperpyyaml
from profile_step import profile_markdown, profile_step
from speechbrain_baseline import (
    BASELINE,
    SB_BASE_YAML,
    SBStockW2V2Brain,
    sb_batches,
)
from step_report import header_lines

from summary_ssl.brains.wav2vec2 import W2V2Brain
from summary_ssl.budget.flops import flop_counter


def ours_batches(pool, device):
    """Our recipe's batches: ``batch.id`` and ``batch.sig = (wavs,
    relative lengths)``, as SpeechBrain's ``PaddedBatch`` gives them to
    ``W2V2Brain``."""
    out = []
    for item in pool:
        wavs = item["wavs"]
        rel = item["lengths"].float() / wavs.shape[1]
        out.append(
            types.SimpleNamespace(
                id=[f"utt{i}" for i in range(len(wavs))],
                sig=(common.pin(wavs, device), common.pin(rel, device)),
            )
        )
    return out


def _new_brain(brain_class, hparams, args, device):
    """A ``brain_class`` Brain of the YAML's modules and optimizer, with
    the run options of the command line (no checkpointer)."""
    return brain_class(
        modules=hparams["modules"],
        opt_class=hparams["optimizer"],
        hparams=hparams,
        run_opts={
            "device": str(device),
            "precision": args.precision,
            "grad_accumulation_factor": args.grad_accum,
            "max_grad_norm": float(hparams["max_grad_norm"]),
        },
        checkpointer=None,
    )


def _adamw(opt_partial, fused):
    """The YAML's AdamW partial, with ``fused=True`` when asked."""
    if not fused:
        return opt_partial
    return functools.partial(opt_partial, fused=True)


def _init_optimizer(brain, fused, device):
    """``Brain.init_optimizers`` with the AdamW as the YAML builds it, fused
    on CUDA if asked and supported (else torch's default, foreach on CUDA).
    Returns a short description."""
    base = brain.opt_class
    if fused and device.type == "cuda":
        brain.opt_class = _adamw(base, True)
        try:
            brain.init_optimizers()
            return "AdamW fused"
        except (RuntimeError, TypeError, ValueError) as error:
            print(f"    fused AdamW unavailable ({error}); foreach instead")
            brain.opt_class = base
    brain.init_optimizers()
    return "AdamW (torch default)"


def build_sb_baseline(args, device, tmp):
    """SpeechBrain's stock wav2vec2-base in an ``SBStockW2V2Brain``."""
    torch.manual_seed(args.seed)
    hparams = load_hyperpyyaml(SB_BASE_YAML, dict(args.sb_overrides))
    brain = _new_brain(SBStockW2V2Brain, hparams, args, device)
    fused = args.fused_adamw == "all"
    info = {
        "optimizer": _init_optimizer(brain, fused, device),
        "encoder_params_M": _params_M(
            [hparams["extractor"], hparams["encoder_wrapper"]]
        ),
        "config": {
            k: v
            for k, v in hparams.items()
            if isinstance(v, (int, float, str, list))
        },
    }
    return brain, hparams, info


def build_ours(name, args, device, tmp):
    """One of our recipes, from its YAML, in our ``W2V2Brain``."""
    path = Path(args.recipe_dir) / f"{name}.yaml"
    overrides = {
        "data_folder": str(Path(tmp) / "data"),
        "output_folder": str(Path(tmp) / name),
        "seed": args.seed,
        **args.overrides,
        **args.model_overrides.get(name, {}),
    }
    torch.manual_seed(args.seed)
    with open(path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    brain = _new_brain(W2V2Brain, hparams, args, device)
    fused = args.fused_adamw in ("ours", "all")
    info = {
        "optimizer": _init_optimizer(brain, fused, device),
        "encoder_params_M": _params_M([hparams["wav2vec2"]]),
        "yaml": str(path),
        "overrides": {k: v for k, v in overrides.items() if k != "seed"},
    }
    return brain, hparams, info


def _params_M(modules):
    return sum(p.numel() for m in modules for p in m.parameters()) / 1e6


# ---------------------------------------------------------------------------
# One cell
# ---------------------------------------------------------------------------


class _Stepper:
    """Runs optimizer steps (``grad_accum`` micro-batches each) the way
    ``Brain._fit_train`` drives ``fit_batch``, cycling over the batches."""

    def __init__(self, brain, batches, grad_accum):
        self.brain = brain
        self.batches = batches
        self.grad_accum = grad_accum
        self.next = 0
        self.last_loss = None

    def step(self):
        brain = self.brain
        for _ in range(self.grad_accum):
            batch = self.batches[self.next % len(self.batches)]
            self.next += 1
            brain.step += 1
            loss = brain.fit_batch(batch)
            brain.avg_train_loss = brain.update_average(
                loss, brain.avg_train_loss
            )
            self.last_loss = loss


def _count_flops(stepper, modules):
    """FLOPs of one optimizer step (FlopCounterMode: matmuls, convs, SDPA,
    forward and backward), with layerdrop switched off for the count."""
    saved = []
    for module in modules.modules():
        if getattr(module, "layerdrop_prob", 0.0):
            saved.append((module, module.layerdrop_prob))
            module.layerdrop_prob = 0.0
    try:
        # torch's formula miscounts grouped-conv gradients: corrected there.
        with flop_counter() as counter:
            stepper.step()
    finally:
        for module, prob in saved:
            module.layerdrop_prob = prob
    return int(counter.get_total_flops())


def _compile_brain(brain, args):
    """Our Brain's own compilation (``W2V2Brain._compile``: regions, with
    the YAML's compile options; ``--compile-backend`` overrides the
    backend), as ``--compile=True`` gives it in the recipe."""
    brain.compile = True
    if args.compile_backend:
        brain.hparams.compile_backend = args.compile_backend
    brain._compile()
    return {
        "dynamic": brain.compile_using_dynamic_shape_tracing,
        "fullgraph": brain.compile_using_fullgraph,
        "mode": brain.compile_mode,
        "backend": brain.hparams.compile_backend,
    }


def run_cell(cell, pool, args, device, tmp):
    """Builds, checks and times one (model, L) cell, filling ``cell`` (its
    ``stage`` says how far it got if this raises)."""
    name = cell["model"]
    cell["status"] = "ok"
    cell["stage"] = "build"
    if name == BASELINE:
        brain, hparams, info = build_sb_baseline(args, device, tmp)
        batches = sb_batches(
            pool, hparams["extractor"], hparams, args.seed, device
        )
    else:
        brain, hparams, info = build_ours(name, args, device, tmp)
        batches = ours_batches(pool, device)
    cell.update(info)
    brain.modules.train()
    cell["params_M"] = _params_M([brain.modules])
    print(
        f"[{name} L={cell['utt_s']:g}s] {cell['params_M']:.2f}M parameters "
        f"({cell['encoder_params_M']:.2f}M exported encoder), "
        f"{cell['optimizer']}",
        flush=True,
    )
    stepper = _Stepper(brain, batches, args.grad_accum)

    cell["stage"] = "flop count"
    cell["step_flops"] = _count_flops(stepper, brain.modules)
    common.sync(device)

    if cell["mode"] == "compiled":
        cell["stage"] = "compile"
        common.clear_dynamo()
        cell["compile_options"] = _compile_brain(brain, args)
        t0 = time.perf_counter()
        stepper.step()
        common.sync(device)
        cell["compile_s"] = time.perf_counter() - t0
        cell["dynamo"] = common.dynamo_counters()

    times_ms = common.time_steps(cell, stepper.step, args, device)

    cell["stage"] = "check"
    loss = float(stepper.last_loss)
    cell["last_loss"] = loss
    # Our Brain counts the steps it skips; SpeechBrain's has no such count.
    skipped = getattr(brain, "nonfinite_total", 0)
    cell["nonfinite_skipped"] = skipped
    if not math.isfinite(loss) or skipped:
        cell["status"] = "nonfinite"
    cell["optimizer_steps"] = brain.optimizer_step
    common.record_times(cell, times_ms)
    seconds = cell["ms"] / 1e3
    cell["audio_s_per_s"] = cell["audio_s"] * args.grad_accum / seconds
    cell["tflops"] = cell["step_flops"] / seconds / 1e12
    cell["mfu_pct"] = 100.0 * cell["tflops"] / args.peak_tflops
    if args.profile and cell["model"] == args.profile_model:
        cell["stage"] = "profile"
        cell["profile"] = profile_step(stepper.step, device)
        _write_profile(cell, args)
        cell.pop("stage")
    return cell


def _write_profile(cell, args):
    """Adds the cell's profile to ``--profile`` (one section per mode,
    the compiled one last: the end of the file is what to study)."""
    title = (
        f"Profile of one {cell['model']} ({cell['mode']}) optimizer step, "
        f"L = {cell['utt_s']:g} s, {cell['batch']} utterances"
    )
    path = Path(args.profile)
    lines = []
    if not args.profiled:
        lines += [*header_lines(args.meta), ""]
        args.profiled = True
    else:
        lines.append(path.read_text())
    lines += profile_markdown(cell["profile"], title) + [""]
    path.write_text("\n".join(lines))
