"""The benchmark's report: ``results.md`` (the results table, the
protocol and every deviation from MP3S, the single-layer reference, the
published numbers and the verdict), ``results.json`` and a layer-weight
heatmap (as in the SummaryMixing SSL paper's figure).

Authors
-------
* summary_ssl contributors 2026
"""

import json
import os
import pathlib

from summary_ssl.probes.protocols import deviations
from summary_ssl.probes.runs import FEATURES
from summary_ssl.probes.tasks import PUBLISHED, SOURCES, TaskSpec
from summary_ssl.probes.verdict import (
    reference_table,
    verdict_lines,
    verdicts,
)


def results_table(tasks, rows, results):
    """A markdown table: one row per feature type, one column per task.

    Arguments
    ---------
    tasks : list of (str, TaskSpec)
        Task keys and their specs, in column order.
    rows : list of str
        Feature types (row order), e.g. ``["ssl", "random_init", "fbank"]``.
    results : dict
        ``results[row][task_key]``: a run's ``metrics`` dict, or None.

    Returns
    -------
    str

    Example
    -------
    >>> tasks = [("IC", TaskSpec("SLURP IC", (("accuracy", "%"),)))]
    >>> print(results_table(tasks, ["ssl", "fbank"],
    ...                     {"ssl": {"IC": {"accuracy": 80.5}}}))
    | features | SLURP IC: accuracy (%) ↑ |
    |---|---|
    | ssl | 80.50 |
    | fbank | — |
    """
    lines = [
        "| features | " + " | ".join(s.header() for _, s in tasks) + " |",
        "|---|" + "---|" * len(tasks),
    ]
    for row in rows:
        cells = [
            spec.cell(results.get(row, {}).get(key)) for key, spec in tasks
        ]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_layer_weights(weights, path, title=None):
    """Heatmap of learned layer weights: rows tasks, columns layers.

    Arguments
    ---------
    weights : dict
        Task name -> list of softmax layer weights (layer 0 is the input
        of the first encoder layer). Lists may differ in length; the
        missing cells stay blank.
    path : str
        Output image (PNG).
    title : str, optional
        Figure title.

    Returns
    -------
    str
        ``path``.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.png")
    >>> _ = plot_layer_weights({"ASR": [0.2, 0.3, 0.5],
    ...                         "SV": [0.6, 0.3, 0.1]}, path)
    >>> os.path.getsize(path) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(weights)
    n_layers = max((len(w) for w in weights.values()), default=1)
    grid = np.full((max(len(names), 1), n_layers), np.nan)
    for i, name in enumerate(names):
        grid[i, : len(weights[name])] = weights[name]
    top = float(np.nanmax(grid)) if np.isfinite(grid).any() else 1.0
    fig, ax = plt.subplots(
        figsize=(max(6.0, 2.5 + 0.6 * n_layers), 1.4 + 0.5 * len(names)),
        layout="constrained",
    )
    image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0.0, vmax=top)
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            color = "white" if value < 0.6 * top else "black"
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color=color,
            )
    ax.set_xticks(range(n_layers))
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.set_xlabel("layer (0 = encoder input)")
    fig.colorbar(image, ax=ax, label="softmax weight")
    if title:
        ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def published_block(protocol, tasks=None, probes=None):
    """The "published" section of ``results.md``.

    Arguments
    ---------
    protocol : str
        The run's protocol (the rows are comparable only under ``mp3s``).
    tasks : sequence of str, optional
        Only these tasks (default: all).
    probes : dict, optional
        Task -> the run's probe, to mark the rows of the same probe.

    Returns
    -------
    str
        Markdown.

    Example
    -------
    >>> text = published_block("fast", tasks=["IC"])
    >>> "80.5" in text and "none of these rows" in text
    True
    >>> "No published MP3S number" in published_block("fast", tasks=["KWS"])
    True
    """
    tasks = list(tasks) if tasks is not None else None
    rows = [p for p in PUBLISHED if tasks is None or p.task in tasks]
    title = "## Published numbers (comparable only under `--protocol mp3s`)"
    if not rows:
        return (
            f"{title}\n\nNo published MP3S number exists for the tasks of "
            "this run. The published ones (MP3S README, SummaryMixing SSL "
            "paper) are for LibriSpeech ASR, SLURP scenarios, IEMOCAP and "
            "VoxCeleb1.\n"
        )
    if protocol == "mp3s":
        note = (
            "This run used `--protocol mp3s`: a row is comparable with the "
            "`ssl` row of the same task when the probe matches (column "
            "*this run's probe*) and the run made no other deviation (see "
            "the notes above)."
        )
    else:
        note = (
            f"This run used `--protocol {protocol}`: none of these rows is "
            "comparable with it. Each is comparable only with a "
            "`--protocol mp3s` run of the same task and probe."
        )
    lines = [
        title,
        "",
        note,
        "",
        "| source | encoder | task | head (our probe) | metric | value |"
        " this run's probe |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in rows:
        ours = p.probe or "none here"
        same = ""
        if probes and p.probe and probes.get(p.task) == p.probe:
            same = "yes" if protocol == "mp3s" else "yes (but not mp3s)"
        lines.append(
            f"| {p.source} | {p.encoder} | {p.task} | {p.head} ({ours}) | "
            f"{p.metric} | {p.value} | {same} |"
        )
    sources = sorted({p.source for p in rows})
    lines += [""] + [f"- {name}: {SOURCES[name]}." for name in sources]
    return "\n".join(lines).rstrip() + "\n"


def _fold_values(results, tasks, key):
    """The values (sorted, None left out) of ``key`` in the folds of
    ``tasks``' runs."""
    return sorted(
        {
            fold.get(key)
            for by_task in results.values()
            for task in tasks
            for fold in ((by_task.get(task) or {}).get("folds") or [])
        }
        - {None}
    )


def notes(args, results, recipes):
    """The notes of results.md: protocol, data, and every deviation, from
    the runner's options ``args`` (with ``notes`` from
    :func:`~summary_ssl.probes.runs.plan_runs` and ``time_line``), the
    ``results`` of :func:`~summary_ssl.probes.verdict.collect` and the
    runs' YAML files under ``recipes``."""
    lines = [
        f"- Protocol: `{args.protocol}`"
        + (
            " (MP3S's settings, up to the deviations below)"
            if args.protocol == "mp3s"
            else " (cheaper settings: not comparable with published numbers)"
        ),
        f"- Encoder: `{args.ssl_folder}`",
        "- Data: "
        + (
            f"real speech in `{args.real_speech}`"
            if args.real_speech
            else f"`{args.data_root}`"
        ),
    ]
    folds = _fold_values(results, ("ER",), "test_speaker")
    if "ER" in args.tasks:
        lines.append(
            "- IEMOCAP ER: leave-one-speaker-out, "
            + (
                f"mean over test speakers {', '.join(map(str, folds))}"
                if len(folds) > 1
                else f"test speaker {folds[0]} (MP3S's default fold)"
                if folds
                else "not run"
            )
        )
    labels = _fold_values(results, ("IC", "KWS"), "label")
    if labels:
        lines.append("- Classification labels: " + ", ".join(labels))
    if any(t in args.tasks for t in ("SV",)):
        lines.append("- minDCF: normalised (NIST), p_target = 0.01.")
    lines.append(
        "- Rows: `ssl` = the frozen encoder, `random_init` = the same "
        "architecture with random frozen weights, `fbank` = 80 normalised "
        "filterbanks. — = the run failed (see its runner.log)."
    )
    if args.time_line:
        lines.append(args.time_line)
    lines += ["", "### Deviations from MP3S", ""]
    for key in args.tasks:
        task = args.task_defs[key]
        yaml_path = os.path.join(
            recipes, task.recipe, "hparams", f"{args.probe_of[key]}.yaml"
        )
        for item in deviations(args.protocol, key, yaml_path):
            lines.append(f"- {key}: {item}")
    if args.epochs is not None:
        lines.append(
            f"- all tasks: `number_of_epochs` {args.epochs} (--epochs)"
        )
    for item in args.overrides:
        lines.append(f"- `--set {item}`")
    for note in args.notes:
        lines.append(f"- {note}")
    return lines


def write_report(args, results, command, recipes):
    """Writes results.md, results.json and layer_weights.png; returns the
    text of results.md (the arguments are :func:`notes`', and the
    runner's command line)."""
    os.makedirs(args.output_folder, exist_ok=True)
    tasks = []
    for key in args.tasks:
        spec = args.task_defs[key].spec
        name = f"{spec.name} ({args.probe_of[key]})"
        tasks.append((key, TaskSpec(name, spec.metrics, spec.lower_is_better)))
    rows = [f for f in FEATURES if f in results]
    table = results_table(
        tasks,
        rows,
        {
            feature: {
                task: (r or {}).get("metrics") for task, r in by_task.items()
            }
            for feature, by_task in results.items()
        },
    )
    reference = reference_table(tasks, results)
    if reference and args.protocol == "mp3s":
        reference.append(
            "\nUnder `--protocol mp3s` the probes keep MP3S's settings: a "
            "gap to the reference is shown, not corrected."
        )
    judged = verdicts(tasks, results)
    text = (
        "# MP3S benchmark\n\n"
        + table
        + "\n\n"
        + "\n".join(notes(args, results, recipes))
        + "\n\nLearned layer weights of the `ssl` probes: "
        "[layer_weights.png](layer_weights.png)\n\n"
        + "".join(line + "\n" for line in reference)
        + ("\n" if reference else "")
        + "Command:\n\n```\n"
        + command
        + "\n```\n\n"
        + published_block(
            args.protocol,
            tasks=[] if args.real_speech else args.tasks,
            probes=args.probe_of,
        )
        + "\n"
        + "\n".join(verdict_lines(judged))
        + "\n"
    )
    folder = pathlib.Path(args.output_folder)
    (folder / "results.md").write_text(text, encoding="utf-8")
    summary = dict(command=command, protocol=args.protocol, results=results)
    summary = json.dumps(dict(summary, verdict=judged), indent=2)
    (folder / "results.json").write_text(summary, encoding="utf-8")
    weights = {
        args.task_defs[task].spec.name: r["layer_weights"]
        for task, r in results.get("ssl", {}).items()
        if r is not None
    }
    if weights:
        plot_layer_weights(
            weights,
            os.path.join(args.output_folder, "layer_weights.png"),
            title="Learned layer weights (ssl probes)",
        )
    return text
