"""The step benchmark's report: its header and one markdown table per
utterance length (``pretrain_step_bench.py``; the budget planner's
maintainers read these tables back, ``tools/update_measured_throughput.py``).

Authors
-------
* summary_ssl contributors 2026
"""

import bench_common as common
from speechbrain_baseline import BASELINE

TARGET_RATIO = 2.0  # the goal for summarymixing_w2v2


def _notes(cell):
    notes = []
    if cell["status"] != "ok":
        notes.append(cell.get("error", cell["status"]))
    if "optimizer" in cell:
        notes.append(cell["optimizer"])
    notes += common.host_and_dynamo_notes(cell)
    if cell.get("last_loss") is not None:
        notes.append(f"loss {cell['last_loss']:.4g}")
    return "; ".join(notes)


def table_for_length(utt_s, cells, args):
    """Markdown table (list of lines) for one utterance length."""
    for c in cells:  # cells of runs before modes existed have no label
        c.setdefault("label", c["model"])
    base = next(
        (c for c in cells if c["model"] == BASELINE and c["status"] == "ok"),
        None,
    )
    first = cells[0]
    head = (
        f"### L = {utt_s:g} s: {first['batch']} utterances per micro-batch, "
        f"{first['audio_s']:.1f} s of real audio (mean; padded: "
        f"{first['padded_s']:.1f} s), {args.grad_accum} micro-batch(es) "
        "per optimizer step"
    )
    cols = [
        "model",
        "params M",
        "ms/step (median)",
        "audio-s/s",
        f"× {BASELINE}",
        "peak GiB",
        "MFU %",
    ]

    def ok_row(c):
        ratio = c["audio_s_per_s"] / base["audio_s_per_s"] if base else None
        big = c["audio_s_per_s"] >= 100
        return [
            c["label"],
            common.fmt(c.get("params_M"), ".4g"),
            common.fmt(c["ms"], ".1f"),
            common.fmt(c["audio_s_per_s"], ".0f" if big else ".3g"),
            "n/a" if ratio is None else f"{ratio:.2f}",
            common.fmt(c.get("peak_gib"), ".1f"),
            common.fmt(c["mfu_pct"], ".1f"),
        ]

    return common.cell_table(
        head,
        cols,
        cells,
        ok_row=ok_row,
        notes=_notes,
        name_key="label",
        compiled=args.compile,
    )


def header_lines(meta):
    """Markdown header (list of lines) describing the run."""
    cpu = meta["device"] != "cuda"
    title = "## Full pretraining step (one optimizer step)"
    if cpu:
        title += " — CPU SMOKE RUN, NOT A BENCHMARK"
    precision = (
        "fp32"
        if meta["precision"] == "fp32"
        else f"{meta['precision']} autocast (fp32 weights)"
    )
    compiled = "no"
    if meta["compile"]:
        compiled = (
            f"modes {', '.join(meta.get('modes', ['compiled']))}; compiled "
            "= our W2V2Brain's "
            "own torch.compile by regions (front end, span masking, each "
            "encoder layer, objective) with the YAML's compile options "
            "(dynamic shapes, fullgraph; see each cell's JSON); "
            f"{BASELINE} stays eager; 'compile s' is the first optimizer "
            "step after compiling, excluded from the timings"
        )
    timer = "CUDA events" if not cpu else "perf_counter"
    overrides = meta["overrides"] or "none"
    lines = [
        title,
        "",
        *common.run_header_lines(meta),
        f"- models: {BASELINE} = SpeechBrain 1.1.2 classes as its "
        "wav2vec2_base.yaml + train_sb_wav2vec2.py build and step them; "
        f"ours = recipe YAMLs in {meta['recipe_dir_rel']} stepped by "
        "summary_ssl W2V2Brain.fit_batch",
        f"- overrides: ours {overrides}; {BASELINE} "
        f"{meta['sb_overrides'] or 'none'}",
        f"- batch: {meta['batch_seconds']:g} s of audio per micro-batch "
        "(batch = round(budget / 0.85 L)), lengths uniform in [0.7 L, L] "
        "(the first L), random-normal 16 kHz waveforms, zero-padded, "
        f"relative lengths; {meta['grad_accum']} micro-batch(es) per "
        f"optimizer step; {meta['pool']} different batches rotated",
        f"- step: {precision}; masks: ours drawn on the device inside the "
        f"step (W2V2Brain), {BASELINE}'s by its collate function (data "
        "loader, untimed); AdamW fused: "
        f"{meta['fused_adamw']} (see notes); compile: {compiled}",
        f"- timing: {meta['warmup']} warm-up steps, then the median of "
        f"{meta['iters']} timed optimizer steps ({timer})",
        "- audio-s/s: real (non-padded) audio seconds per optimizer step / "
        f"median step time; × {BASELINE}: this model's audio-s/s over "
        f"{BASELINE}'s in this run (>1 = faster; target for "
        f"summarymixing_w2v2: ≥ {TARGET_RATIO:g})",
        "- peak GiB: torch.cuda.max_memory_allocated over the timed steps "
        "and one step before them",
        "- MFU: FlopCounterMode FLOPs of one optimizer step (matmuls, "
        "convolutions, SDPA; fwd+bwd; the padded batch as executed; "
        "layerdrop off for the count) / median time / "
        f"{meta['peak_tflops']:g} TFLOP/s",
    ]
    if cpu:
        lines += common.CPU_NOTE
    return lines
