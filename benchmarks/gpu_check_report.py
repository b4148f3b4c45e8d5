#!/usr/bin/env python3
"""The summary of a ``gpu_check.sh`` run: targets met or not, MFU, and the
projected cost of pretraining, from the JSON the benchmarks wrote.

Targets (issue 13), each a ratio measured in the same run:

* SummaryMixing Conformer >= 2.0x SpeechBrain's ``RoPEMHA`` frames/s (its
  stock, eager form) at every T, <= 0.8x its peak memory, and flat in T
  (spread of frames/s over T within 10 %);
* FlashMHA >= 1.5x at T <= 1000, and no out-of-memory at T = 4000;
* the full ``summarymixing_w2v2`` step >= 2x the stock SpeechBrain
  wav2vec2-base step in audio-seconds per second.

For each of ours the best of its modes (eager, compiled) is the one
judged; the table says which. The projection divides the paper's
schedule (300k optimizer steps of 1.6 h of audio: 480,000 h) by the
measured audio-seconds per second of one GPU.

Example::

    python benchmarks/gpu_check_report.py --out $OUT --status $OUT/.status

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import json
from pathlib import Path

SCHEDULE_STEPS = 300_000
STEP_AUDIO_HOURS = 1.6  # 360 s x 4 accumulated batches x 4 GPUs
DAY_S = 86_400
STEP_L = 12.5  # the utterance length the step target is judged at


def _load(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _ok(cells):
    return [c for c in cells if c.get("status") == "ok"]


def _best(cells, key):
    return max(cells, key=lambda c: c[key]) if cells else None


def _yes(flag):
    return "**yes**" if flag else "**no**"


def encoder_targets(data):
    """Rows ``[target, measured, met]`` of the encoder targets."""
    rows = []
    if not data:
        return [["encoder targets", "no encoder JSON", "not measured"]]
    cells = data["results"]
    seq = sorted({c["T"] for c in cells})
    base = {
        c["T"]: c
        for c in _ok(cells)
        if c["encoder"] == "sb-RoPEMHA" and c.get("mode", "eager") == "eager"
    }
    rates = {}
    for T in seq:
        sm = _best(
            [
                c
                for c in _ok(cells)
                if c["encoder"] == "SummaryMixing" and c["T"] == T
            ],
            "real_frames_per_s",
        )
        if sm is None or T not in base:
            rows.append(
                [f"SummaryMixing ≥ 2.0× sb-RoPEMHA, T = {T}", "—", "n/a"]
            )
            continue
        rates[T] = sm["real_frames_per_s"]
        ratio = base[T]["ms"] / sm["ms"]
        rows.append(
            [
                f"SummaryMixing ≥ 2.0× sb-RoPEMHA frames/s, T = {T}",
                f"{ratio:.2f}× ({sm.get('mode', 'eager')} vs eager)",
                _yes(ratio >= 2.0),
            ]
        )
        if sm.get("peak_gib") and base[T].get("peak_gib"):
            mem = sm["peak_gib"] / base[T]["peak_gib"]
            rows.append(
                [
                    f"SummaryMixing ≤ 0.8× sb-RoPEMHA peak memory, T = {T}",
                    f"{mem:.2f}× ({sm['peak_gib']:.1f} / "
                    f"{base[T]['peak_gib']:.1f} GiB)",
                    _yes(mem <= 0.8),
                ]
            )
    if len(rates) == len(seq) and len(seq) > 1:
        spread = (max(rates.values()) - min(rates.values())) / max(
            rates.values()
        )
        rows.append(
            [
                "SummaryMixing flat in T (frames/s spread ≤ 10 %)",
                f"{100 * spread:.1f} %",
                _yes(spread <= 0.10),
            ]
        )
    for T in seq:
        flash = [c for c in cells if c["encoder"] == "FlashMHA" and c["T"] == T]
        if T <= 1000:
            best = _best(_ok(flash), "real_frames_per_s")
            if best is None or T not in base:
                rows.append([f"FlashMHA ≥ 1.5×, T = {T}", "—", "n/a"])
                continue
            ratio = base[T]["ms"] / best["ms"]
            rows.append(
                [
                    f"FlashMHA ≥ 1.5× sb-RoPEMHA frames/s, T = {T}",
                    f"{ratio:.2f}× ({best.get('mode', 'eager')})",
                    _yes(ratio >= 1.5),
                ]
            )
        elif flash:
            oom = [
                c.get("mode", "eager") for c in flash if c["status"] == "oom"
            ]
            ran = [c.get("mode", "eager") for c in _ok(flash)]
            rows.append(
                [
                    f"FlashMHA no out-of-memory, T = {T}",
                    f"ran: {', '.join(ran) or 'none'}; OOM: "
                    f"{', '.join(oom) or 'none'}",
                    _yes(not oom and bool(ran)),
                ]
            )
    return rows


def step_rows(data):
    """(target rows, projection rows) of the full-step benchmark."""
    if not data:
        return [["step target", "no step JSON", "not measured"]], []
    cells = _ok(data["results"])
    base = next(
        (
            c
            for c in cells
            if c["model"] == "sb-wav2vec2-base" and c["utt_s"] == STEP_L
        ),
        None,
    )
    if base is None:  # a dry run at other lengths: judge the first one
        base = next(
            (c for c in cells if c["model"] == "sb-wav2vec2-base"), None
        )
    ours = [
        c
        for c in cells
        if c["model"] == "summarymixing_w2v2"
        and base is not None
        and c["utt_s"] == base["utt_s"]
    ]
    best = _best(ours, "audio_s_per_s")
    if base is None or best is None:
        return [["summarymixing_w2v2 step ≥ 2×", "—", "n/a"]], []
    ratio = best["audio_s_per_s"] / base["audio_s_per_s"]
    targets = [
        [
            "summarymixing_w2v2 step ≥ 2× sb-wav2vec2-base audio-s/s, "
            f"L = {base['utt_s']:g} s",
            f"{ratio:.2f}× ({best['mode']}: {best['audio_s_per_s']:.0f} vs "
            f"{base['audio_s_per_s']:.0f} audio-s/s)",
            _yes(ratio >= 2.0),
        ]
    ]
    projection = []
    for cell in [base] + sorted(ours, key=lambda c: c["mode"]):
        rate = cell["audio_s_per_s"]
        gpu_hours = SCHEDULE_STEPS * STEP_AUDIO_HOURS * 3600 / rate / 3600
        day_steps = DAY_S * rate / (STEP_AUDIO_HOURS * 3600)
        projection.append(
            [
                f"{cell['model']} ({cell['mode']})",
                f"{rate:.0f}",
                f"{gpu_hours:,.0f}",
                f"{gpu_hours / 24:,.1f}",
                f"{day_steps:,.0f}",
            ]
        )
    return targets, projection


def mfu_rows(encoder, step):
    """``[what, mode, "MFU % at each size"]`` for every measured cell."""
    groups = {}
    for c in _ok((encoder or {}).get("results", [])):
        key = (c["encoder"], c.get("mode", "eager"))
        groups.setdefault(key, []).append(f"T={c['T']}: {c['mfu_pct']:.1f}")
    for c in _ok((step or {}).get("results", [])):
        key = (c["model"], c["mode"])
        groups.setdefault(key, []).append(
            f"L={c['utt_s']:g} s: {c['mfu_pct']:.1f}"
        )
    return [[what, mode, ", ".join(v)] for (what, mode), v in groups.items()]


def _table(cols, rows):
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def report(out, status_lines=()):
    """The summary markdown (list of lines) of the run in ``out``."""
    encoder = _load(Path(out) / "encoder.json")
    step = _load(Path(out) / "step.json")
    meta = (step or encoder or {}).get("meta", {})
    cpu = meta.get("device") not in (None, "cuda")
    lines = ["# GPU check summary", ""]
    if meta:
        lines += [
            f"- date: {meta['date']}",
            f"- device: {meta['device_name']}",
            f"- torch {meta['torch']}, CUDA {meta['cuda']}, speechbrain "
            f"{meta['speechbrain']}",
        ]
    if cpu:
        lines += [
            "",
            "**DRY RUN ON THE CPU at toy sizes: these numbers mean nothing; "
            "only that every stage ran.**",
        ]
    lines += ["", "## Stages", ""]
    lines += [f"- {line}" for line in status_lines] or ["- (no status)"]
    targets = encoder_targets(encoder)
    step_targets, projection = step_rows(step)
    lines += ["", "## Targets (ratios measured in this run)", ""]
    lines += _table(["target", "measured", "met"], targets + step_targets)
    lines += ["", "## MFU (bf16 peak from --peak-tflops)", ""]
    lines += _table(["what", "mode", "MFU %"], mfu_rows(encoder, step))
    if projection:
        lines += [
            "",
            "## Projected pretraining cost (one GPU of this kind)",
            "",
            f"The paper's schedule: {SCHEDULE_STEPS:,} optimizer steps of "
            f"{STEP_AUDIO_HOURS} h of audio (480,000 h of audio); a "
            "1-GPU-day schedule: the steps of 1.6 h one GPU-day covers. "
            "From the step benchmark's audio-s/s (200 s micro-batches; the "
            "recipe's are 360 s).",
            "",
        ]
        lines += _table(
            [
                "model",
                "audio-s/s",
                "GPU-hours, paper's schedule",
                "GPU-days",
                "steps in 1 GPU-day",
            ],
            projection,
        )
    return lines


def main(argv=None):
    """Writes ``summary.md`` into ``--out`` and prints it."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--status", default=None, help="one stage status a line")
    args = p.parse_args(argv)
    status = []
    if args.status and Path(args.status).is_file():
        status = Path(args.status).read_text().splitlines()
    text = "\n".join(report(args.out, status)) + "\n"
    (Path(args.out) / "summary.md").write_text(text)
    print(text, flush=True)
    return text


if __name__ == "__main__":
    main()
