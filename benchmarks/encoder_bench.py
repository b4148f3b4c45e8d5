#!/usr/bin/env python3
"""Conformer encoder microbenchmark: one fwd+bwd step, ours vs SpeechBrain.

In one process and one run, for each encoder in a list and each sequence
length T, this times a training step (forward + backward, no optimizer) of a
12-layer Conformer (d_model 768, FFN 3072, 8 heads, kernel 31 by default)
on a batch of ``--frames`` frames (batch = frames // T), and prints one
markdown table per T with the time, throughput, speed ratio to SpeechBrain's
own ``RoPEMHA`` Conformer measured in the same run, peak memory and MFU.

Encoders (``--encoders`` picks a subset, comma-separated):

* ``sb-RelPosMHAXL``, ``sb-regularMHA``, ``sb-RoPEMHA``: SpeechBrain 1.1.2's
  ``speechbrain.lobes.models.transformer.Conformer.ConformerEncoder``
  (``RelPosMHAXL`` gets its ``pos_embs`` from ``RelPosEncXL`` inside the
  step, as SpeechBrain's TransformerASR does). ``sb-RoPEMHA`` is the
  baseline of the ratio column.
* ``SummaryMixing``, ``SummaryMixing-lite``, ``SummaryMixing-fast``,
  ``FlashMHA`` (rotary positions unless ``--flash-no-rotary``),
  ``ours-RoPEMHA``: ``summary_ssl.lobes.conformer.ConformerEncoder``.
  ``ours-RoPEMHA`` runs SpeechBrain's RoPEMHA mixer inside our layer, so
  its row against ``sb-RoPEMHA`` shows what our layer alone changes.

Method (see the workplace's device METHOD.md): random-normal inputs (never
zeros), realistic padding (lengths uniform in [0.7 T, T], the first one T,
``src_key_padding_mask`` True = padding), a fixed random output gradient,
bf16 autocast by default, warm-up steps, then ``--iters`` timed steps, each
between two CUDA events, and the MEDIAN is reported. Peak memory is
``torch.cuda.max_memory_allocated`` over the warm-up and timed steps of
each (encoder, T) cell, after ``reset_peak_memory_stats``. A cell that runs
out of memory prints ``OOM`` and the run goes on. Each cell builds a fresh,
identically seeded model, so cells don't share memory or compiled code.

Before timing, a correctness guard (``--guard``, default: our encoders)
compares, on the real frames of one batch, the eager output under autocast
with an fp32 eager output, and with ``--compile`` the compiled output with
the eager one; it prints the relative error and warns above the dtype's
tolerance.

On CPU it runs too (``time.perf_counter``, no memory statistics) so it can
be smoke-tested; CPU numbers are NOT the benchmark.

Example (GPU, defaults)::

    python benchmarks/encoder_bench.py --json $OUT/encoder_bench.json

Authors
-------
* summary_ssl contributors 2026
"""

import math
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
for _path in (_REPO, _HERE):  # run from a checkout without installing
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

try:
    import bench_common as common
    from speechbrain.lobes.models.transformer.Conformer import (
        ConformerEncoder as SBConformerEncoder,
    )
    from speechbrain.nnet.attention import RelPosEncXL

    from summary_ssl.lobes.conformer import ConformerEncoder
except ImportError as _error:  # pragma: no cover - GPU machine set-up
    raise SystemExit(
        f"encoder_bench needs speechbrain 1.1.2 and summary_ssl ({_error}). "
        "On the GPU machine, carry the wheels: see benchmarks/README.md."
    ) from _error

# name -> (implementation, attention_type)
ENCODERS = {
    "sb-RelPosMHAXL": ("speechbrain", "RelPosMHAXL"),
    "sb-regularMHA": ("speechbrain", "regularMHA"),
    "sb-RoPEMHA": ("speechbrain", "RoPEMHA"),
    "SummaryMixing": ("ours", "SummaryMixing"),
    "SummaryMixing-lite": ("ours", "SummaryMixing-lite"),
    "SummaryMixing-fast": ("ours", "SummaryMixing-fast"),
    "FlashMHA": ("ours", "FlashMHA"),
    "ours-RoPEMHA": ("ours", "RoPEMHA"),
}
BASELINE = "sb-RoPEMHA"
# How a cell runs its encoder: eager, or torch.compile of each layer (one
# compilation shared by the layers) or of the whole encoder; "-dyn" with
# dynamic shapes (one compilation for every T, as training with dynamic
# batching would use it).
MODES = {
    "eager": None,
    "layer": ("layer", False),
    "layer-dyn": ("layer", True),
    "encoder": ("encoder", False),
}
DTYPES = {
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
    "fp32": torch.float32,
}
# Norm-wise relative error above which the guard warns (12 layers deep).
GUARD_TOL = {"bf16": 5e-2, "fp16": 1e-2, "fp32": 1e-4}


# --------------------------------------------------------------------------
# Analytic FLOPs
# --------------------------------------------------------------------------


def mixer_flops(attention_type, d, nhead, lengths, sm_dims=None):
    """Forward FLOPs (2 per multiply-add) of one mixer, matmuls only.

    Each utterance counts at its own length, as if it ran alone: these are
    the model's useful FLOPs, not what a padded batch executes (pass
    ``[T] * B`` for that).

    Arguments
    ---------
    attention_type : str
        ``regularMHA``, ``RoPEMHA``, ``FlashMHA``, ``RelPosMHAXL`` or a
        SummaryMixing mode (``SummaryMixing``, ``-lite``, ``-fast``).
    d : int
        Model size.
    nhead : int
        Heads (SummaryMixing's block-diagonal linears have ``nhead``
        blocks, so they cost ``1 / nhead`` of a dense linear; the fast
        mode's one projection is dense).
    lengths : list of int
        Utterance lengths.
    sm_dims : dict, optional
        SummaryMixing sizes ``local_hid``, ``local_out``, ``summary_hid``,
        ``summary_out`` (lists for the hidden ones); default ``d`` for all,
        as ``summary_ssl.lobes.mixers.build_mixer`` builds it.

    Returns
    -------
    int

    Example
    -------
    >>> mixer_flops("RoPEMHA", 8, 2, [10])  # 10 * 4*2*64 + 2*2*100*8
    8320
    """
    n = sum(lengths)
    if attention_type in ("regularMHA", "RoPEMHA", "FlashMHA"):
        # q, k, v, out projections; QK^T and AV.
        return n * 4 * 2 * d * d + sum(2 * 2 * L * L * d for L in lengths)
    if attention_type == "RelPosMHAXL":
        # + the position projection of the 2L-1 relative positions and the
        # (L, 2L-1) position scores before the relative shift.
        return (
            n * 4 * 2 * d * d
            + sum(2 * 2 * L * L * d for L in lengths)
            + sum(2 * (2 * L - 1) * d * d for L in lengths)
            + sum(2 * L * (2 * L - 1) * d for L in lengths)
        )
    if not attention_type.startswith("SummaryMixing"):
        raise ValueError(f"no FLOP formula for {attention_type!r}")
    if attention_type == "SummaryMixing-expdecay":
        raise ValueError("no FLOP formula for SummaryMixing-expdecay")
    dims = dict(local_hid=[d], local_out=d, summary_hid=[d], summary_out=d)
    dims.update(sm_dims or {})
    groups = nhead
    if attention_type == "SummaryMixing-fast":
        local = [dims["local_out"]]
        summary = [dims["local_out"]]
        groups = 1  # one dense projection
    else:
        local = list(dims["local_hid"]) + [dims["local_out"]]
        summary = list(dims["summary_hid"]) + [dims["summary_out"]]
    if attention_type == "SummaryMixing-lite":
        local = []
    first = (local[0] if local else 0) + summary[0]
    per_frame = 2 * d * first // groups  # fused grouped first layers
    for dims_ in (local, summary):
        per_frame += sum(
            2 * a * b // groups for a, b in zip(dims_[:-1], dims_[1:])
        )
    per_frame += 2 * summary[-1]  # masked mean over frames
    per_utt = 0
    if local:
        per_frame += 2 * local[-1] * d  # combiner, local half
        per_utt = 2 * summary[-1] * d  # combiner, summary half, per utt
    return n * per_frame + len(lengths) * per_utt


def encoder_flops(
    attention_type, num_layers, d, d_ffn, nhead, kernel, lengths, sm_dims=None
):
    """Forward FLOPs of a Conformer encoder (matmuls and convolutions only;
    norms, activations, softmax and casts are not counted).

    Per frame and layer: two FFNs ``2 * (2*2*d*d_ffn)``; the convolution
    module ``2*d*2d`` (pointwise in, GLU) ``+ 2*d*k`` (depthwise) ``+
    2*d*d`` (pointwise out); plus the mixer (:func:`mixer_flops`). A
    training step (fwd+bwd) is 3x this.

    Arguments
    ---------
    attention_type : str
        See :func:`mixer_flops`.
    num_layers : int
        Layers.
    d : int
        Model size.
    d_ffn : int
        FFN hidden size.
    nhead : int
        Heads.
    kernel : int
        Depthwise kernel size.
    lengths : list of int
        Utterance lengths.
    sm_dims : dict, optional
        SummaryMixing sizes, see :func:`mixer_flops`.

    Returns
    -------
    int

    Example
    -------
    >>> encoder_flops("FlashMHA", 1, 8, 16, 2, 3, [10]) == (
    ...     10 * (2 * 2 * 2 * 8 * 16 + 2 * 8 * 16 + 2 * 8 * 8 + 2 * 8 * 3)
    ...     + mixer_flops("FlashMHA", 8, 2, [10]))
    True
    """
    n = sum(lengths)
    ffn = 2 * (2 * 2 * d * d_ffn)
    conv = 2 * d * 2 * d + 2 * d * kernel + 2 * d * d
    mixer = mixer_flops(attention_type, d, nhead, lengths, sm_dims)
    return num_layers * (n * (ffn + conv) + mixer)


# --------------------------------------------------------------------------
# Models and inputs
# --------------------------------------------------------------------------


class EncoderUnderTest(nn.Module):
    """``(x, padding) -> output`` around either encoder.

    Arguments
    ---------
    encoder : torch.nn.Module
        SpeechBrain's or our ConformerEncoder.
    pos_enc : torch.nn.Module, optional
        ``RelPosEncXL`` for SpeechBrain's ``RelPosMHAXL`` (computed in the
        step, as SpeechBrain's TransformerASR does).
    """

    def __init__(self, encoder, pos_enc=None):
        super().__init__()
        self.encoder = encoder
        self.pos_enc = pos_enc

    def forward(self, x, padding):
        """Encodes ``x`` (B, T, d) with ``padding`` (B, T) True = padding."""
        pos_embs = self.pos_enc(x) if self.pos_enc is not None else None
        out = self.encoder(x, src_key_padding_mask=padding, pos_embs=pos_embs)
        return out[0]


def build_encoder(name, args):
    """Builds encoder ``name`` (a key of ``ENCODERS``) from the CLI sizes."""
    impl, attention_type = ENCODERS[name]
    common = dict(
        num_layers=args.layers,
        d_model=args.d_model,
        d_ffn=args.d_ffn,
        nhead=args.nhead,
        kernel_size=args.kernel,
        dropout=args.dropout,
        attention_type=attention_type,
    )
    if impl == "speechbrain":
        encoder = SBConformerEncoder(**common)
        pos_enc = None
        if attention_type == "RelPosMHAXL":
            pos_enc = RelPosEncXL(args.d_model)
        return EncoderUnderTest(encoder, pos_enc)
    options = None
    if attention_type == "FlashMHA":
        options = {"rotary": not args.flash_no_rotary}
    encoder = ConformerEncoder(**common, mixer_options=options)
    return EncoderUnderTest(encoder)


def make_lengths(T, batch, padded, seed):
    """Lengths uniform in [ceil(0.7 T), T], the first one T (seeded by T,
    so every encoder gets the same batch)."""
    if not padded or batch == 1:
        return [T] * batch
    gen = torch.Generator().manual_seed(seed * 100003 + T)
    low = math.ceil(0.7 * T)
    rest = torch.randint(low, T + 1, (batch - 1,), generator=gen)
    return [T] + rest.tolist()


def make_inputs(lengths, T, d, device, seed):
    """Random-normal input (B, T, d) needing grad, padding mask (True =
    padding, or None when no frame is padded) and a random output grad."""
    gen = torch.Generator(device="cpu").manual_seed(seed + 7 * T)
    B = len(lengths)
    x = torch.randn(B, T, d, generator=gen).to(device).requires_grad_(True)
    grad = torch.randn(B, T, d, generator=gen).to(device)
    lens = torch.tensor(lengths, device=device)
    padding = torch.arange(T, device=device)[None, :] >= lens[:, None]
    if not bool(padding.any()):
        padding = None
    return x, padding, grad


# --------------------------------------------------------------------------
# Timing helpers
# --------------------------------------------------------------------------


def _rel_errors(out, ref, padding):
    """(norm-wise relative error, max abs error / max |ref|) on real
    frames, in float64."""
    if padding is not None:
        keep = ~padding
        out, ref = out[keep], ref[keep]
    out, ref = out.double(), ref.double()
    if not bool(torch.isfinite(out).all()):
        return float("nan"), float("nan")
    diff = out - ref
    norm = float(diff.norm() / ref.norm().clamp_min(1e-30))
    peak = float(diff.abs().max() / ref.abs().max().clamp_min(1e-30))
    return norm, peak


def run_cell(cell, lengths, args, device):
    """Builds, checks and times one (encoder, T) cell, filling ``cell``
    (its ``stage`` says how far it got if this raises)."""
    name, T = cell["encoder"], cell["T"]
    dtype = DTYPES[args.dtype]
    autocast = torch.autocast(
        device_type=device.type, dtype=dtype, enabled=args.dtype != "fp32"
    )
    cell["status"] = "ok"
    cell["dtype"] = args.dtype
    cell["stage"] = "build"
    torch.manual_seed(args.seed)
    with torch.device(device):  # initialise on the device: faster
        model = build_encoder(name, args).to(device).train()
    cell["params_M"] = sum(p.numel() for p in model.parameters()) / 1e6
    x, padding, grad = make_inputs(lengths, T, args.d_model, device, args.seed)
    do_guard = args.guard == "all" or (
        args.guard == "ours" and ENCODERS[name][0] == "ours"
    )

    eager_out = None
    if do_guard:
        cell["stage"] = "guard"
        with torch.no_grad(), autocast:
            eager_out = model(x, padding).float()
        with torch.no_grad():
            ref32 = model(x, padding).float()
        norm, peak = _rel_errors(eager_out, ref32, padding)
        cell["guard_eager_vs_fp32"] = {"rel_err": norm, "max_rel_err": peak}
        del ref32

    runner = model
    if MODES[cell["mode"]] is not None:
        scope, dynamic = MODES[cell["mode"]]
        options = dict(dynamic=dynamic, backend=args.compile_backend)
        cell["stage"] = "compile"
        common.clear_dynamo()
        if scope == "encoder":
            runner = torch.compile(model, **options)
        else:
            for layer in model.encoder.layers:
                layer.compile(**options)
        common.sync(device)
        t0 = time.perf_counter()
        with autocast:
            out = runner(x, padding)
        out.backward(grad.to(out.dtype))
        common.sync(device)
        cell["compile_s"] = time.perf_counter() - t0
        cell["dynamo"] = common.dynamo_counters()
        if do_guard:
            norm, peak = _rel_errors(out.detach().float(), eager_out, padding)
            cell["guard_compiled_vs_eager"] = {
                "rel_err": norm,
                "max_rel_err": peak,
            }
        del out
    del eager_out
    params = [p for p in model.parameters()]

    def step(keep=False):
        for p in params:
            p.grad = None
        x.grad = None
        with autocast:
            out = runner(x, padding)
        out.backward(grad if grad.dtype == out.dtype else grad.to(out.dtype))
        return out.detach() if keep else None

    times_ms = common.time_steps(cell, step, args, device)

    cell["stage"] = "check"  # one more (untimed) step, same graph
    out = step(keep=True)
    real = out if padding is None else out[~padding]
    if not bool(torch.isfinite(real).all()):
        cell["status"] = "nonfinite"
    del out, real
    common.record_times(cell, times_ms)
    return cell


def add_derived(cell, lengths, args):
    """Adds frames/s, TFLOP/s and MFU to a timed cell."""
    _, attention_type = ENCODERS[cell["encoder"]]
    seconds = cell["ms"] / 1e3
    real, total = sum(lengths), len(lengths) * cell["T"]
    cell["real_frames_per_s"] = real / seconds
    cell["total_frames_per_s"] = total / seconds
    flop_args = (
        attention_type,
        args.layers,
        args.d_model,
        args.d_ffn,
        args.nhead,
        args.kernel,
    )
    useful = 3 * encoder_flops(*flop_args, lengths)
    executed = 3 * encoder_flops(*flop_args, [cell["T"]] * len(lengths))
    cell["step_tflop_useful"] = useful / 1e12
    cell["step_tflop_padded"] = executed / 1e12
    cell["tflops_useful"] = useful / seconds / 1e12
    cell["mfu_pct"] = 100.0 * useful / seconds / (args.peak_tflops * 1e12)
    cell["mfu_padded_pct"] = (
        100.0 * executed / seconds / (args.peak_tflops * 1e12)
    )


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _notes(cell, args):
    notes = []
    if cell["status"] not in ("ok",):
        notes.append(cell.get("error", cell["status"]))
    for key, label in (
        ("guard_eager_vs_fp32", "err vs fp32"),
        ("guard_compiled_vs_eager", "compiled vs eager"),
    ):
        if key in cell:
            err = cell[key]["rel_err"]
            flag = "" if err <= GUARD_TOL[args.dtype] else " WARN"
            notes.append(f"{label} {err:.1e}{flag}")
    notes += common.host_and_dynamo_notes(cell)
    return "; ".join(notes)


def baseline_cell(cell, cells):
    """The cell a cell's ratios are against: SpeechBrain's RoPEMHA at the
    same T, eager (the stock encoder) when the run has it, else in the
    cell's own mode; None when it did not run."""
    ok = [
        c
        for c in cells
        if c["encoder"] == BASELINE
        and c["T"] == cell["T"]
        and c["status"] == "ok"
    ]
    for mode in ("eager", cell["mode"]):
        for c in ok:
            if c["mode"] == mode:
                return c
    return None


def row_name(cell, args):
    """The encoder, with its mode when the run has several."""
    if len(args.modes) == 1:
        return cell["encoder"]
    return f"{cell['encoder']} [{cell['mode']}]"


def table_for_T(T, cells, args):
    """Markdown table (list of lines) for one sequence length."""
    head = (
        f"### T = {T} frames, batch {cells[0]['batch']} "
        f"({cells[0]['total_frames']} frames/step, "
        f"{cells[0]['real_frames']} real)"
    )
    cols = [
        "encoder",
        "params M",
        "ms/step (median)",
        "k real frames/s",
        "k total frames/s",
        f"speed × {BASELINE}",
        "peak GiB",
        "mem ×",
        "MFU %",
    ]

    def ok_row(c):
        base = baseline_cell(c, cells)
        ratio = base["ms"] / c["ms"] if base else None
        mem = None
        if base and base.get("peak_gib") and c.get("peak_gib") is not None:
            mem = c["peak_gib"] / base["peak_gib"]
        return [
            row_name(c, args),
            common.fmt(c.get("params_M"), ".4g"),
            common.fmt(c["ms"], ".1f"),
            common.fmt(c["real_frames_per_s"] / 1e3, ".1f"),
            common.fmt(c["total_frames_per_s"] / 1e3, ".1f"),
            "n/a" if ratio is None else f"{ratio:.2f}",
            common.fmt(c.get("peak_gib"), ".1f"),
            common.fmt(mem, ".2f"),
            common.fmt(c["mfu_pct"], ".1f"),
        ]

    return common.cell_table(
        head,
        cols,
        cells,
        ok_row=ok_row,
        notes=lambda c: _notes(c, args),
        name_key="label",
        compiled=any(MODES[m] for m in args.modes),
    )


def header_lines(meta):
    """Markdown header (list of lines) describing the run."""
    if meta["padding"]:
        padding = "padded: lengths uniform in [0.7T, T], the first T"
    else:
        padding = "no padding"
    precision = (
        "fp32" if meta["dtype"] == "fp32" else f"{meta['dtype']} autocast"
    )
    compiled = "no"
    if any(MODES[m] for m in meta["modes"]):
        compiled = (
            f"modes {', '.join(meta['modes'])}: layer = torch.compile of "
            "each layer (default mode, one compilation shared by the "
            "layers), encoder = of the whole encoder, -dyn = dynamic=True "
            f"(else False); backend {meta['compile_backend']}; 'compile s' "
            "is the first fwd+bwd call, excluded from the timings"
        )
    timer = "CUDA events" if meta["device"] == "cuda" else "perf_counter"
    lines = [
        "## Encoder microbenchmark (fwd+bwd training step, no optimizer)",
        "",
        *common.run_header_lines(meta),
        f"- model: {meta['layers']} layers, d_model {meta['d_model']}, "
        f"FFN {meta['d_ffn']}, {meta['nhead']} heads, kernel "
        f"{meta['kernel']}, dropout {meta['dropout']}; FlashMHA rotary: "
        f"{meta['flash_rotary']}",
        f"- step: {meta['frames']} frames per step (batch = frames // T), "
        f"{padding}, {precision}, random-normal inputs and output grad",
        f"- compile: {compiled}; cudnn.benchmark: {meta['cudnn_benchmark']}",
        f"- timing: {meta['warmup']} warm-up steps, then the median of "
        f"{meta['iters']} timed steps ({timer})",
        "- frames/s: 'real' counts non-padded frames only, 'total' counts "
        "every frame of the padded batch",
        f"- speed ×: {BASELINE} ms / encoder ms in this run (>1 = faster), "
        f"against {BASELINE} eager at the same T when the run has it, "
        f"else {BASELINE} in the same mode; mem ×: peak GiB over the same "
        "baseline's",
        "- peak GiB: torch.cuda.max_memory_allocated over the timed steps "
        "and one step before them (params, grads, activations)",
        "- MFU: 3 × analytic forward FLOPs (matmuls and convolutions, each "
        "utterance at its real length) / time / "
        f"{meta['peak_tflops']:g} TFLOP/s",
        "- notes: guard = norm-wise relative error on real frames (eager "
        "autocast vs fp32 eager; compiled vs eager); host syncs counted "
        "with CUDA sync debug mode",
    ]
    if meta["device"] != "cuda":
        lines += common.CPU_NOTE
    return lines


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv):
    """Command-line options."""
    p = common.new_parser(__doc__)
    p.add_argument("--encoders", default=",".join(ENCODERS))
    p.add_argument("--seq-lens", default="250,500,1000,2000,4000")
    p.add_argument("--frames", type=int, default=32000)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--d-ffn", type=int, default=3072)
    p.add_argument("--nhead", type=int, default=8)
    p.add_argument("--kernel", type=int, default=31)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    p.add_argument("--no-padding", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument(
        "--modes",
        default=None,
        help="comma-separated modes, each run for every encoder and T: "
        f"{', '.join(MODES)}; 'MODE=ENC+ENC' limits a mode to those "
        "encoders. Default: eager, or --compile-scope with --compile",
    )
    p.add_argument(
        "--compile-backend",
        default="inductor",
        help="torch.compile backend (a CPU dry run can use 'eager')",
    )
    p.add_argument(
        "--compile-scope",
        choices=("encoder", "layer"),
        default="encoder",
        help="torch.compile the whole encoder, or each layer (regional: "
        "one compilation shared by the layers, much faster to compile)",
    )
    common.add_timing_args(p)
    p.add_argument(
        "--guard",
        choices=("ours", "all", "none"),
        default="ours",
        help="which encoders get the eager/fp32/compiled output check",
    )
    common.add_machine_args(p)
    p.add_argument("--flash-no-rotary", action="store_true")
    p.add_argument("--cudnn-benchmark", action="store_true")
    common.add_sync_check_arg(p)
    p.add_argument(
        "--order",
        choices=("T", "encoder"),
        default="T",
        help="loop order of the cells",
    )
    common.add_output_args(p)
    args = p.parse_args(argv)
    args.encoders = [e for e in args.encoders.split(",") if e]
    unknown = [e for e in args.encoders if e not in ENCODERS]
    if unknown:
        p.error(f"unknown encoders {unknown}; valid: {list(ENCODERS)}")
    args.seq_lens = [int(t) for t in args.seq_lens.split(",") if t]
    if args.modes is None:
        args.modes = [args.compile_scope if args.compile else "eager"]
    else:
        args.modes = [m for m in args.modes.split(",") if m]
    args.mode_encoders = {}
    for i, item in enumerate(args.modes):
        mode, _, names = item.partition("=")
        if mode not in MODES:
            p.error(f"unknown mode {mode!r}; valid: {list(MODES)}")
        args.modes[i] = mode
        if names:
            args.mode_encoders[mode] = names.split("+")
    args.compile = any(MODES[m] for m in args.modes)
    return args


def main(argv=None):
    """Runs the benchmark; returns ``(markdown_text, results_dict)``."""
    argv, command = common.command_line(argv, "encoder_bench.main")
    args = parse_args(argv)
    device = common.select_device(args)
    if args.compile:
        common.raise_recompile_limits()

    meta = dict(
        **common.run_meta(device, command),
        **{
            k: getattr(args, k)
            for k in (
                "layers",
                "d_model",
                "d_ffn",
                "nhead",
                "kernel",
                "dropout",
                "frames",
                "dtype",
                "compile",
                "warmup",
                "iters",
                "peak_tflops",
                "encoders",
                "seq_lens",
                "guard",
                "seed",
            )
        },
        padding=not args.no_padding,
        modes=args.modes,
        mode_encoders=args.mode_encoders,
        compile_backend=args.compile_backend,
        compile_scope=args.compile_scope if args.compile else None,
        cudnn_benchmark=args.cudnn_benchmark,
        flash_rotary=not args.flash_no_rotary,
        baseline=BASELINE,
        lengths={},
    )
    header = header_lines(meta)
    common.print_header(header)

    plan = []
    for T in args.seq_lens:
        batch = args.frames // T
        if batch < 1:
            print(f"skipping T={T}: more than --frames", flush=True)
            continue
        lengths = make_lengths(T, batch, not args.no_padding, args.seed)
        meta["lengths"][str(T)] = lengths
        plan += [
            ((name, mode), T, lengths)
            for mode in args.modes
            for name in args.mode_encoders.get(mode, args.encoders)
        ]
    # modes first (all eager cells before any compiled one), then T or
    # encoder
    if args.order == "encoder":
        plan.sort(
            key=lambda item: (
                args.modes.index(item[0][1]),
                args.encoders.index(item[0][0]),
            )
        )
    else:
        plan.sort(key=lambda item: args.modes.index(item[0][1]))

    cells = []
    try:
        _run_plan(plan, args, device, meta, cells)
    except KeyboardInterrupt:  # between cells: keep what was measured
        done = len(cells)
        for key, T, lengths in plan[done:]:
            cell = _new_cell(key, T, lengths)
            cell.update(status="skipped", error="skipped (interrupted)")
            cells.append(cell)

    tables = []
    for T in args.seq_lens:
        group = [c for c in cells if c["T"] == T]
        for c in group:
            c["label"] = row_name(c, args)
        if group:
            tables.append(table_for_T(T, group, args))
    text = common.finish_report(header, tables, args.json, meta, cells)
    return text, {"meta": meta, "results": cells, "markdown": text}


def _new_cell(key, T, lengths):
    name, mode = key
    return {
        "encoder": name,
        "mode": mode,
        "T": T,
        "batch": len(lengths),
        "real_frames": sum(lengths),
        "total_frames": len(lengths) * T,
    }


def _run_plan(plan, args, device, meta, cells):
    """Runs every (encoder, T) cell of ``plan``, appending to ``cells``;
    a failed cell is recorded (OOM, error) and the run goes on."""

    def measure(cell, lengths):
        run_cell(cell, lengths, args, device)
        add_derived(cell, lengths, args)

    common.run_cells(
        plan,
        cells,
        common.Budget(args.max_seconds),
        new_cell=_new_cell,
        measure=measure,
        progress=_progress,
        args=args,
        device=device,
        meta=meta,
        gc_on_cpu=False,
    )


def _progress(cell):
    common.print_progress(
        cell,
        f"{cell['encoder']} {cell['mode']} T={cell['T']}",
        lambda c: (
            f"{c['ms']:.1f} ms, "
            f"{c['real_frames_per_s'] / 1e3:.1f}k real frames/s, "
            f"MFU {c['mfu_pct']:.1f}%"
        ),
        _print_guards,
    )


def _print_guards(cell):
    for key in ("guard_eager_vs_fp32", "guard_compiled_vs_eager"):
        if key in cell:
            err = cell[key]
            ok = err["rel_err"] <= GUARD_TOL[cell["dtype"]]
            print(
                f"    guard {key[6:]}: rel err {err['rel_err']:.2e}, max "
                f"rel err {err['max_rel_err']:.2e} (tolerance "
                f"{GUARD_TOL[cell['dtype']]:.0e}) "
                + ("ok" if ok else "WARNING: MISMATCH"),
                flush=True,
            )


if __name__ == "__main__":
    main()
