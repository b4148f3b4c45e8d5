"""The text the CLI prints for a cost estimate and for a budget plan.

Authors
-------
* summary_ssl contributors 2026
"""


def _thousands(value):
    return f"{value:,.0f}"


def format_report(result):
    """The text the CLI prints for :func:`estimate`'s result."""
    rec, par, asm = (
        result["recipe"],
        result["parameters"],
        result["assumptions"],
    )
    fl, mem, sch = result["flops"], result["memory_gib"], result["schedule"]
    thr, pro = result["throughput"], result["projection"]
    overrides = (
        " ".join(f"--{k}={v}" for k, v in rec["overrides"].items()) or "none"
    )
    parts = ", ".join(f"{k} {v:.2f}" for k, v in fl["by_part_gflop"].items())
    lines = [
        f"recipe      {rec['yaml']} (overrides: {overrides})",
        f"parameters  {par['total'] / 1e6:.2f} M ({par['model'] / 1e6:.2f} M "
        f"front end + encoder, {par['objective'] / 1e6:.2f} M objective); "
        f"{rec['attention_type']}, {rec['num_encoder_layers']} x "
        f"{rec['d_model']}",
        f"batch       {asm['utterances_per_micro_batch']} utterances x "
        f"{asm['utterance_seconds']:g} s per micro-batch (assumed length; "
        "--utterance-seconds), "
        f"{asm['encoder_frames_per_utterance']} encoder frames each, "
        f"{asm['masked_fraction']:.1%} of frames masked",
        f"FLOPs       {fl['per_audio_second_gflop']:.1f} GFLOP per second of "
        f"audio, forward + backward, layerdrop {fl['layerdrop']:g} expected "
        f"({fl['per_audio_second_all_layers_gflop']:.1f} with every layer)",
        f"            by part: {parts}; element-wise, not counted: "
        f"{fl['not_counted_elementwise_gflop']:.2f}",
    ]
    if "by_utterance_seconds_gflop" in fl:
        sweep = fl["by_utterance_seconds_gflop"]
        lines.append(
            "            at "
            + " / ".join(f"{k} s" for k in sweep)
            + " utterances: "
            + " / ".join(f"{v:.1f}" for v in sweep.values())
        )
    fits = "fits" if mem["peak"] <= pro["gpu_memory_gb"] else "DOES NOT FIT"
    lines += [
        f"memory      activations {mem['activations']:.1f} GiB per "
        f"micro-batch (objective {mem['objective_activations']:.1f}); "
        f"weights + gradients + AdamW "
        f"{mem['weights'] + mem['gradients'] + mem['optimizer']:.1f} GiB; "
        f"peak >= {mem['peak']:.1f} GiB: {fits} in the "
        f"{pro['gpu_memory_gb']:g} GB of an {pro['gpu']}",
        f"schedule    {_thousands(sch['optimizer_steps'])} optimizer steps x "
        f"{sch['audio_seconds_per_step'] / 3600:.2f} h of audio "
        f"({sch['gpus']} GPU(s)) = {_thousands(sch['audio_hours'])} h of "
        "audio (nominal: full batches)"
        + (
            f", {sch['passes_over_data']:g} passes over {sch['data_hours']:g} h"
            if sch["passes_over_data"]
            else ""
        ),
        f"throughput  {thr['source']}",
        f"            MFU {thr['mfu']:.1%} of {pro['peak_tflops']:g} TFLOP/s "
        f"-> {thr['audio_seconds_per_second_per_gpu']:,.0f} audio-seconds "
        "per second per GPU",
        f"projection  {_thousands(pro['gpu_hours'])} GPU-hours on "
        f"{pro['gpu_name']} ({_thousands(pro['wall_clock_hours'])} h = "
        f"{pro['wall_clock_hours'] / 24:.1f} days on {sch['gpus']} GPU(s)); "
        f"energy <= {_thousands(pro['energy_kwh'])} kWh (GPU board power "
        f"{pro['board_power_w']:g} W); cost {_thousands(pro['cost_usd'])} USD "
        f"at {pro['usd_per_gpu_hour']:g} USD per GPU-hour "
        "(--usd-per-gpu-hour)",
    ]
    anchors = pro.get("gpu_hours_at_mfu_anchors")
    if anchors:
        lines.append(
            "            at the MFU anchors "
            + ", ".join(
                f"{a['mfu']:.1%}: {_thousands(a['gpu_hours'])}"
                for a in anchors.values()
            )
            + " GPU-hours"
        )
    return "\n".join(lines)


def _proposal_row(name, c):
    return (
        f"| {name} | {c['layers']} x {c['d_model']} | "
        f"{c['params'] / 1e6:.1f} | {c['gflop_per_audio_second']:.1f} | "
        f"{c['optimizer_steps']:,} | {c['audio_hours']:,.0f} | "
        f"{c['passes_over_data']:g} | {c['frames_per_param']:,.0f} | "
        f"{c['gpu_hours']:,.1f} | {c['peak_memory_gib']:.1f} |"
    )


def format_plan(result, command):
    """The text the CLI prints for :func:`summary_ssl.budget.planner.plan`.

    Arguments
    ---------
    result : dict
        The planner's result.
    command : str
        The recipe command of the slim proposal
        (:func:`summary_ssl.budget.planner.override_line`).

    Returns
    -------
    str
    """
    thr = result["throughput"]
    lines = [
        f"budget      {result['budget_gpu_hours']:g} GPU-hours on "
        f"{result['gpus']} x {result['gpu']}, {result['data_hours']:g} h "
        f"of data, utterances of {result['utterance_seconds']:g} s",
        f"throughput  {thr['source']} (MFU {thr['mfu']:.1%}, every size)",
        f"size rule   {result['target_frames_per_param']:,.0f} audio "
        "frames seen per parameter (the SummaryMixing SSL recipe's; "
        "--frames-per-param)",
        "",
        "| proposal | layers x width | params M | GFLOP / audio-s | steps "
        "| h of audio | passes | frames / param | GPU-hours | peak GiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        _proposal_row("slim (proposed)", result["slim"]),
    ]
    if result["wide"] is not None:
        lines.append(_proposal_row("wide, equal FLOPs", result["wide"]))
    lines += ["", "run the slim one:", f"  {command}"]
    for warning in result["warnings"]:
        lines.append(f"WARNING: {warning}")
    lines += [
        "",
        "| finding (paper) | what this planner does |",
        "|---|---|",
    ]
    for row in result["guidance"]:
        lines.append(f"| {row['finding']} | {row['planner']} |")
    lines += [
        f"source: {result['guidance'][0]['source']}",
        result["unverified"],
        "reference recipes (frames seen per parameter): "
        + "; ".join(
            f"{ref['source']}: {ref['frames_per_param']:,.0f}"
            for ref in result["references"].values()
        ),
    ]
    return "\n".join(lines)
