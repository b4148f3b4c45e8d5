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
  ``ours-RoPEMHA``: ``summary_ssl.lobes.encoders.conformer.ConformerEncoder``.
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

import time

import bench_common as common  # first: puts the checkout on sys.path
import torch

try:
    from encoder_models import (
        BASELINE,
        DTYPES,
        ENCODERS,
        GUARD_TOL,
        MODES,
        build_encoder,
        make_inputs,
        make_lengths,
        step_flops,
    )
    from encoder_report import header_lines, row_name, table_for_T
except ImportError as _error:  # pragma: no cover - GPU machine set-up
    raise common.missing_dependency(
        "encoder_bench", "speechbrain 1.1.2 and summary_ssl", _error
    ) from _error

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
    seconds = cell["ms"] / 1e3
    real, total = sum(lengths), len(lengths) * cell["T"]
    cell["real_frames_per_s"] = real / seconds
    cell["total_frames_per_s"] = total / seconds
    useful, executed = step_flops(cell["encoder"], lengths, args)
    cell["step_tflop_useful"] = useful / 1e12
    cell["step_tflop_padded"] = executed / 1e12
    cell["tflops_useful"] = useful / seconds / 1e12
    cell["mfu_pct"] = 100.0 * useful / seconds / (args.peak_tflops * 1e12)
    cell["mfu_padded_pct"] = (
        100.0 * executed / seconds / (args.peak_tflops * 1e12)
    )


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
    args.encoders = common.comma_names(p, args.encoders, ENCODERS, "encoders")
    args.seq_lens = common.comma_list(args.seq_lens, int)
    if args.modes is None:
        args.modes = [args.compile_scope if args.compile else "eager"]
    else:
        args.modes = common.comma_list(args.modes)
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
