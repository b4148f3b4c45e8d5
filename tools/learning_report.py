"""The tables of ``tools/learning_stage.py``'s ``learning.json``: the
learning curve, whether the codebook collapsed, and the probes
(markdown; ``python tools/learning_stage.py --report learning.json``).

Authors
-------
* summary_ssl contributors 2026
"""

import real_speech_check as rsc

COLLAPSED = 0.05  # every group uses at most this share of its codes


def collapse_rows(curve):
    """(first, last) curve rows that have code-set statistics."""
    coded = [r for r in curve if "codes_in_use" in r]
    return (coded[0], coded[-1]) if coded else (None, None)


def render(data, curve_table=True):
    """The stage's tables (markdown) from its JSON (the learning curve's
    too, unless ``curve_table`` is False)."""
    meta, curve = data["meta"], data["curve"]
    lines = [
        "## Learning at a real batch (issue 21, item 4)",
        "",
        f"- status: {data['status']}; model: {meta.get('model')} "
        f"({meta.get('parameters_m', '?')}M parameters), "
        f"{meta.get('audio_per_step_s')} s of audio per optimizer step "
        f"({meta.get('batch')}), front end trained "
        f"(feature_grad_mult {meta.get('feature_grad_mult')}), "
        f"{meta.get('precision')}, lr {meta.get('lr')}",
        f"- data: {meta.get('data', '?')}; device: {meta.get('device')}",
    ]
    first, last = collapse_rows(curve)
    if first is not None:
        V = first["codes_per_group"]
        lines += [
            "",
            "| code set | step | codes in use per group (of "
            f"{V}) | code tuples | perplexity (of "
            f"{V * len(first['codes_in_use'])}) |",
            "|---|---|---|---|---|",
        ]
        for label, r in (("start", first), ("end", last)):
            lines.append(
                f"| {label} | {r['step']} | "
                + " / ".join(str(c) for c in r["codes_in_use"])
                + f" | {r['code_tuples']} | {r['code_set_perplexity']} |"
            )
        end = last["codes_in_use"]
        collapsed = all(c <= COLLAPSED * V for c in end)
        lines.append(
            f"\nCodebook at step {last['step']}: "
            + ("**COLLAPSED**" if collapsed else "not collapsed")
            + f" ({'/'.join(map(str, end))} of {V} codes in use per group;"
            f" collapsed = every group at most {COLLAPSED:.0%})."
        )
    if curve_table and any("loss" in r for r in curve):
        lines += [
            "",
            "| step | s | loss | contrastive acc | train code ppl "
            "| code-set codes in use | code-set ppl | temp | lr | audio-s/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in curve:
            lines.append(
                f"| {r['step']} | {r['elapsed_s']} | "
                + " | ".join(
                    _fmt(r.get(k))
                    for k in (
                        "loss",
                        "accuracy",
                        "code_perplexity",
                        "codes_in_use",
                        "code_set_perplexity",
                        "temperature",
                        "lr",
                        "audio_seconds_per_second",
                    )
                )
                + " |"
            )
    if data["probe"]:
        lines += [
            "",
            "| features | kw100 % best / top | kw10 % best / top | "
            "SV EER % best / top | s |",
            "|---|---|---|---|---|",
        ]
        for s in data["probe"]:
            lines.append(
                f"| {s['features']} | "
                + " | ".join(s["cells"])
                + f" | {s['seconds']} |"
            )
        names = {s["features"] for s in data["probe"]}
        if "pretrained" in names and len(names) > 1:
            lines += [""] + [
                f"- {line}"
                for line in rsc.verdict([(s, None) for s in data["probe"]])
            ]
    if data.get("error"):
        lines += ["", f"ERROR: {data['error']}"]
    return "\n".join(lines)


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 else f"{value:.3f}"
    return str(value)
