"""The planner's figure: GPU-hours against model size, the budget, the
chosen point.

Authors
-------
* summary_ssl contributors 2026
"""


def plot_plan(result, path):
    """Draws :func:`summary_ssl.budget.planner.plan`'s sweep to ``path``.

    For each shape (slim, wide): the GPU-hours a model needs to see the
    target frames per parameter (rises with size squared), and the
    GPU-hours of one pass over your data (rises with size); the budget as
    a horizontal line; the slim and wide proposals marked.

    Arguments
    ---------
    result : dict
        The planner's result.
    path : str or Path
        Image file (PNG, PDF, SVG, ... by its extension).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    styles = {"slim": ("tab:blue", "o"), "wide": ("tab:orange", "s")}
    for shape, (color, marker) in styles.items():
        rows = sorted(result["sweep"][shape], key=lambda r: r["params"])
        size = [r["params"] / 1e6 for r in rows]
        ax.plot(
            size,
            [r["gpu_hours_to_target"] for r in rows],
            color=color,
            marker=marker,
            label=f"{shape}: to see "
            f"{result['target_frames_per_param']:.0f} frames per parameter",
        )
        ax.plot(
            size,
            [r["gpu_hours_per_pass"] for r in rows],
            color=color,
            linestyle=":",
            label=f"{shape}: one pass over {result['data_hours']:g} h",
        )
    budget = result["budget_gpu_hours"]
    ax.axhline(
        budget, color="black", linewidth=1, label=f"budget {budget:g} GPU-h"
    )
    for shape, (color, _) in styles.items():
        chosen = result[shape]
        if chosen is None:
            continue
        ax.scatter(
            [chosen["params"] / 1e6],
            [chosen["gpu_hours"]],
            s=180,
            facecolors="none",
            edgecolors=color,
            linewidths=2,
            zorder=5,
            label=f"{shape} proposal {chosen['layers']} x "
            f"{chosen['d_model']}: {chosen['params'] / 1e6:.1f} M, "
            f"{chosen['optimizer_steps']:,} steps, "
            f"{chosen['audio_hours']:,.0f} h of audio",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters (M)")
    ax.set_ylabel(f"GPU-hours ({result['gpu']})")
    throughput = result["throughput"]
    kind = "assumed" if throughput["kind"] == "assumed" else "measured"
    ax.set_title(
        f"{result['data_hours']:g} h of data, {result['gpu']}, "
        f"MFU {throughput['mfu']:.1%} ({kind})",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
