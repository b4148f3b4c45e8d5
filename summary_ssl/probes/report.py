"""The benchmark's outputs: a markdown results table and a layer-weight
heatmap (as in the SummaryMixing SSL paper's figure).

Authors
-------
* summary_ssl contributors 2026
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    """How one task's results are shown.

    Arguments
    ---------
    name : str
        Column title, e.g. ``LibriSpeech ASR``.
    metrics : tuple of (str, str)
        (metric key in ``metrics.json``, unit) pairs; the first is the
        main one. The unit may be empty.
    lower_is_better : bool
        Direction of the main metric.
    """

    name: str
    metrics: tuple
    lower_is_better: bool = False

    def header(self):
        """Column header, e.g. ``LibriSpeech ASR: WER (%) / CER (%) ↓``.

        Example
        -------
        >>> TaskSpec("SV", (("EER", "%"), ("minDCF", ""))).header()
        'SV: EER (%) / minDCF ↑'
        """
        names = [f"{m} ({u})" if u else m for m, u in self.metrics]
        arrow = "↓" if self.lower_is_better else "↑"
        return f"{self.name}: {' / '.join(names)} {arrow}"

    def cell(self, metrics):
        """Formats a run's metrics (None: the run failed or was skipped).

        Example
        -------
        >>> spec = TaskSpec("ASR", (("WER", "%"), ("CER", "%")), True)
        >>> spec.cell({"WER": 12.345, "CER": 4.0}), spec.cell(None)
        ('12.35 / 4.00', '—')
        """
        if metrics is None:
            return "—"
        values = []
        for key, unit in self.metrics:
            value = metrics.get(key)
            if value is None or not math.isfinite(value):
                values.append("n/a")
            elif unit == "%":
                values.append(f"{value:.2f}")
            else:
                values.append(f"{value:.4f}")
        return " / ".join(values)


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
