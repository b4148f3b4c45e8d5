#!/usr/bin/env python3
"""Full wav2vec 2.0 pretraining step: our three recipes vs SpeechBrain's.

In one process and one run, this times ONE FULL OPTIMIZER STEP (masking,
forward, objective, backward, gradient clipping, AdamW step, zero_grad)
of each model below at a fixed audio budget per micro-batch, for each
utterance length L, and prints one markdown table per L with the time,
the throughput in audio-seconds per second, the ratio to SpeechBrain's
stock wav2vec2-base step measured in the same run, peak memory and MFU.

Models (``--models`` picks a subset, comma-separated):

* ``sb-wav2vec2-base``: SpeechBrain 1.1.2's own wav2vec 2.0 BASE, built
  from its classes as SpeechBrain's recipe
  ``recipes/LibriSpeech/self-supervised-learning/wav2vec2/`` builds it
  (``hparams/wav2vec2_base.yaml`` for the model, loss and optimizer;
  ``train_sb_wav2vec2.py`` for the step): ``W2VLatentExtractor`` (7 convs,
  512 channels, kernels 11,3,3,3,3,3,3, strides 5,2,2,2,2,2,2),
  ``EncoderWrapper`` around a 12 x 768 ``TransformerEncoder`` (8 heads,
  FFN 3072, GELU, pre-LN, dropout 0.1, layerdrop 0.05),
  ``W2VTargetQuantiser`` (2 x 320 codes, 256-d), a 768 -> 256 projection,
  ``compute_mask`` (0.65 / 10, in the data loader's collate function, so
  outside the timed step here too), ``sample_negatives`` (100),
  ``ContrastiveLoss(logit_temp=0.1)`` + 0.1 x diversity loss x masked
  frames, AdamW (lr 5e-4, weight decay 0.01, eps 1e-6), gradient clipping
  at 100, ``WarmCoolDecayLRSchedule``. About 91M parameters. It is the
  baseline of the ratio column and is never compiled.
* ``summarymixing_w2v2``, ``flash_conformer_w2v2``, ``mhsa_conformer_w2v2``:
  our recipe YAMLs (``recipes/LibriSpeech/self-supervised-learning/wav2vec2
  /hparams/<name>.yaml``), loaded with hyperpyyaml, stepped by our
  ``W2V2Brain.fit_batch`` itself (span mask and negatives drawn on the
  device, forward and objective under autocast, backward, clipping
  at the YAML's ``max_grad_norm``, AdamW as the YAML builds it, zero_grad,
  LR schedule, Gumbel temperature, and the Brain's own host-side checks
  and statistics).

Both kinds of step go through SpeechBrain's ``Brain.optimizers_step`` and
``update_average`` as ``Brain.fit`` would call them; data loading,
checkpointing and progress bars are not timed.

Method (see the workplace's device METHOD.md): random-normal waveforms
(never zeros) at 16 kHz, ``--batch-seconds`` of audio per micro-batch
(default 200 s, SpeechBrain's recipe per-GPU batch): batch = round(budget /
(0.85 L)) utterances, lengths uniform in [0.7 L, L] with the first one L,
zero-padded, with relative lengths; the same batches for every model at a
given L, rotated over ``--pool`` different batches. bf16 autocast by
default. ``--warmup`` steps, then ``--iters`` timed steps, each between two
CUDA events; the MEDIAN is reported. Peak memory is
``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` over
the timed steps and one step before them. MFU: FLOPs of one full optimizer
step counted by ``torch.utils.flop_counter.FlopCounterMode`` (matmuls,
convolutions, SDPA; forward and backward; the padded batch as executed;
layerdrop off for the count), divided by the median step time and
``--peak-tflops``. A cell that runs out of memory prints ``OOM`` and the
run goes on.

On CPU it runs too (``time.perf_counter``, no memory statistics) so it can
be smoke-tested; CPU numbers are NOT the benchmark.

Example (GPU, defaults)::

    python benchmarks/pretrain_step_bench.py --json $OUT/step.json

Authors
-------
* summary_ssl contributors 2026
"""

import math
import tempfile
from pathlib import Path

# Timing and reporting helpers shared with the encoder microbenchmark;
# imported first: it puts the checkout on sys.path.
import bench_common as common
import torch
import yaml

try:
    from speechbrain_baseline import BASELINE
    from step_cell import run_cell
    from step_report import header_lines, table_for_length
except ImportError as _error:  # pragma: no cover - GPU machine set-up
    raise common.missing_dependency(
        "pretrain_step_bench",
        "speechbrain 1.1.2, hyperpyyaml and summary_ssl",
        _error,
    ) from _error

OURS = ("summarymixing_w2v2", "flash_conformer_w2v2", "mhsa_conformer_w2v2")
MODELS = (BASELINE,) + OURS
RECIPE_DIR = (
    common.REPO
    / "recipes/LibriSpeech/self-supervised-learning/wav2vec2/hparams"
)
SAMPLE_RATE = 16000
PRECISIONS = ("bf16", "fp16", "fp32")

# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def batch_plan(utt_seconds, batch_seconds):
    """Utterances per micro-batch: round(budget / mean length), at least 1
    (mean of U[0.7 L, L] is 0.85 L)."""
    return max(1, round(batch_seconds / (0.85 * utt_seconds)))


def make_pool(utt_seconds, batch_seconds, pool, seed):
    """``pool`` batches of random-normal waveforms for utterance length L.

    Every batch has the same number of utterances and the same padded
    length (its first utterance is L long), so shapes are fixed within a
    cell; the others are uniform in [0.7 L, L].

    Returns
    -------
    list of dict
        ``wavs`` (B, N) float32 zero-padded, ``lengths`` (B,) samples.
    """
    batch = batch_plan(utt_seconds, batch_seconds)
    longest = int(round(utt_seconds * SAMPLE_RATE))
    shortest = math.ceil(0.7 * longest)
    batches = []
    for index in range(pool):
        gen = torch.Generator().manual_seed(
            seed * 1000003 + index * 7919 + longest
        )
        lengths = torch.randint(shortest, longest + 1, (batch,), generator=gen)
        lengths[0] = longest
        wavs = torch.zeros(batch, longest)
        for row, n in enumerate(lengths.tolist()):
            # speech-like amplitude; never zeros on the real samples
            wavs[row, :n] = 0.1 * torch.randn(n, generator=gen)
        batches.append({"wavs": wavs, "lengths": lengths})
    return batches


def _parse_overrides(items, parser):
    """``key=value`` (all our recipes) or ``model:key=value`` items ->
    ({key: value}, {model: {key: value}}); values are parsed as YAML."""
    common, per_model = {}, {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"override {item!r} is not key=value")
        target = common
        if ":" in key:
            model, key = key.split(":", 1)
            if model not in MODELS:
                parser.error(f"override {item!r}: unknown model {model!r}")
            target = per_model.setdefault(model, {})
        target[key] = yaml.safe_load(value)
    return common, per_model


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv):
    """Command-line options."""
    p = common.new_parser(__doc__)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument(
        "--utt-seconds",
        default="5,12.5,25",
        help="utterance lengths L (comma-separated)",
    )
    p.add_argument(
        "--batch-seconds",
        type=float,
        default=200.0,
        help="audio per micro-batch (SpeechBrain's recipe: 200 per GPU)",
    )
    p.add_argument(
        "--grad-accum",
        type=int,
        default=1,
        help="micro-batches per optimizer step",
    )
    p.add_argument("--pool", type=int, default=2, help="batches rotated")
    p.add_argument("--precision", choices=PRECISIONS, default="bf16")
    common.add_timing_args(p)
    p.add_argument(
        "--set",
        dest="set_items",
        action="extend",
        nargs="+",
        metavar="[MODEL:]KEY=VALUE",
        help="overrides of our recipe YAMLs (values parsed as YAML); "
        "MODEL: limits one to that recipe",
    )
    p.add_argument(
        "--sb-set",
        dest="sb_set_items",
        action="extend",
        nargs="+",
        metavar="KEY=VALUE",
        help="overrides of the SpeechBrain baseline's config (see "
        "SB_BASE_YAML: embedding_dim, num_layers, nhead, d_ffn, conv_dim, "
        "extractor_dim, final_dim, quantiser_vars, num_negatives, ...)",
    )
    p.add_argument(
        "--fused-adamw",
        choices=("ours", "all", "none"),
        default="ours",
        help="which models get AdamW(fused=True) on CUDA (SpeechBrain's "
        "stock step uses torch's default)",
    )
    p.add_argument(
        "--modes",
        default=None,
        help="comma-separated: eager, compiled (our Brain's regional "
        "torch.compile, as the recipe's compile: True runs it). "
        f"{BASELINE} always runs eager. Default: eager (eager,compiled "
        "with --compile)",
    )
    p.add_argument("--compile", action="store_true")
    p.add_argument(
        "--compile-backend",
        default=None,
        help="torch.compile backend (default: the YAML's compile_backend, "
        "inductor; a CPU dry run can use 'eager')",
    )
    p.add_argument(
        "--profile",
        default=None,
        metavar="PATH",
        help="profile one step of --profile-model (its compiled cell if "
        "the run has one) and write the kernel report here (markdown)",
    )
    p.add_argument("--profile-model", default="summarymixing_w2v2")
    p.add_argument(
        "--suppress-compile-errors",
        action="store_true",
        help="a region that fails to compile runs eagerly instead of "
        "failing the cell (torch._dynamo.config.suppress_errors); the "
        "notes' graph count shows how many regions compiled",
    )
    common.add_machine_args(p)
    p.add_argument("--recipe-dir", default=str(RECIPE_DIR))
    p.add_argument("--cudnn-benchmark", action="store_true")
    common.add_sync_check_arg(p)
    common.add_output_args(p)
    args = p.parse_args(argv)
    args.models = common.comma_names(p, args.models, MODELS, "models")
    args.utt_seconds = common.comma_list(args.utt_seconds, float)
    if args.grad_accum < 1 or args.iters < 1 or args.pool < 1:
        p.error("--grad-accum, --iters and --pool must be >= 1")
    args.overrides, args.model_overrides = _parse_overrides(args.set_items, p)
    args.sb_overrides, extra = _parse_overrides(args.sb_set_items, p)
    if extra:
        p.error("--sb-set takes KEY=VALUE items only")
    if args.modes is None:
        args.modes = "eager,compiled" if args.compile else "eager"
    args.modes = common.comma_list(args.modes)
    if set(args.modes) - {"eager", "compiled"} or not args.modes:
        p.error(f"--modes: eager and/or compiled, got {args.modes}")
    args.compile = "compiled" in args.modes
    args.profiled = False
    return args


def main(argv=None):
    """Runs the benchmark; returns ``(markdown_text, results_dict)``."""
    argv, command = common.command_line(argv, "pretrain_step_bench.main")
    args = parse_args(argv)
    device = common.select_device(args)
    if device.type != "cuda" and args.precision == "fp16":
        raise SystemExit("fp16 needs CUDA (SpeechBrain's Brain refuses it)")
    if args.compile:
        common.raise_recompile_limits()
        if args.suppress_compile_errors:
            torch._dynamo.config.suppress_errors = True

    try:
        recipe_dir_rel = str(
            Path(args.recipe_dir).resolve().relative_to(common.REPO)
        )
    except ValueError:
        recipe_dir_rel = args.recipe_dir
    meta = dict(
        **common.run_meta(device, command),
        recipe_dir_rel=recipe_dir_rel,
        overrides={
            **args.overrides,
            **{
                f"{m}:{k}": v
                for m, kv in args.model_overrides.items()
                for k, v in kv.items()
            },
        },
        sb_overrides=args.sb_overrides,
        cudnn_benchmark=args.cudnn_benchmark,
        baseline=BASELINE,
        lengths={},
        **{
            k: getattr(args, k)
            for k in (
                "models",
                "utt_seconds",
                "batch_seconds",
                "grad_accum",
                "pool",
                "precision",
                "warmup",
                "iters",
                "fused_adamw",
                "compile",
                "peak_tflops",
                "seed",
            )
        },
    )
    meta["modes"] = args.modes
    args.meta = meta
    header = header_lines(meta)
    common.print_header(header)

    cells = []
    with tempfile.TemporaryDirectory(prefix="step_bench_") as tmp:
        try:
            _run_all(args, device, meta, cells, tmp)
        except KeyboardInterrupt:
            print("interrupted: reporting what was measured", flush=True)

    tables = []
    for utt_s in args.utt_seconds:
        group = [c for c in cells if c["utt_s"] == utt_s]
        if group:
            tables.append(table_for_length(utt_s, group, args))
    text = common.finish_report(header, tables, args.json, meta, cells)
    return text, {"meta": meta, "results": cells, "markdown": text}


def _new_cell(key, utt_s, pool):
    name, mode, label = key
    audio = [float(item["lengths"].sum()) / SAMPLE_RATE for item in pool]
    return {
        "model": name,
        "mode": mode,
        "label": label,
        "utt_s": utt_s,
        "batch": len(pool[0]["lengths"]),
        # real audio per micro-batch, mean over the rotated batches
        "audio_s": sum(audio) / len(audio),
        "padded_s": pool[0]["wavs"].numel() / SAMPLE_RATE,
    }


def _label(name, mode, args):
    """The model, with its mode when the run has several."""
    return name if len(args.modes) == 1 else f"{name} ({mode})"


def _run_all(args, device, meta, cells, tmp):
    """Every (L, model) cell; a failed cell is recorded and the run goes
    on. KeyboardInterrupt marks the remaining cells skipped and re-raises
    after the bookkeeping."""
    budget = common.Budget(args.max_seconds)
    plan = []
    for utt_s in args.utt_seconds:
        pool = make_pool(utt_s, args.batch_seconds, args.pool, args.seed)
        meta["lengths"][f"{utt_s:g}"] = [
            item["lengths"].tolist() for item in pool
        ]
        modes = list(args.modes)
        if BASELINE in args.models and "eager" not in modes:
            modes.insert(0, "eager")  # the stock baseline runs eager
        plan += [
            ((name, mode, _label(name, mode, args)), utt_s, pool)
            for mode in modes
            for name in args.models
            if (mode == "eager" if name == BASELINE else mode in args.modes)
        ]
    common.run_cells(
        plan,
        cells,
        budget,
        new_cell=_new_cell,
        measure=lambda cell, pool: run_cell(cell, pool, args, device, tmp),
        progress=_progress,
        args=args,
        device=device,
        meta=meta,
        gc_on_cpu=True,
    )


def _progress(cell):
    common.print_progress(
        cell,
        f"{cell['model']} L={cell['utt_s']:g}s",
        lambda c: (
            f"{c['ms']:.1f} ms/step, {c['audio_s_per_s']:.0f} "
            f"audio-s/s, MFU {c['mfu_pct']:.1f}%"
        ),
    )


if __name__ == "__main__":
    main()
