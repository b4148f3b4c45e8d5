"""The encoder microbenchmark's report: its header and one markdown table
per sequence length (``encoder_bench.py``).

Authors
-------
* summary_ssl contributors 2026
"""

import bench_common as common
from encoder_models import BASELINE, GUARD_TOL, MODES


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
        "- MFU: forward + backward FLOPs of the budget planner's model "
        "(summary_ssl.budget.flops: matmuls and convolutions, each "
        "utterance at its real length) / time / "
        f"{meta['peak_tflops']:g} TFLOP/s",
        "- notes: guard = norm-wise relative error on real frames (eager "
        "autocast vs fp32 eager; compiled vs eager); host syncs counted "
        "with CUDA sync debug mode",
    ]
    if meta["device"] != "cuda":
        lines += common.CPU_NOTE
    return lines
