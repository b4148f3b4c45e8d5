"""What the benchmark concludes from its runs: fold averages, the
single-layer reference beside each probe, and the verdict.

``run_benchmark.py`` trains one probe per task and feature set (``ssl``,
``random_init``, ``fbank``). A probe alone can rank the feature sets
wrongly: on held-out real speech, a linear probe over the learned layer
sum once ended below every pretrained layer but the top one and ranked
the random-init encoder first. So every classification run also fits its
reference (:mod:`summary_ssl.probes.layer_reference`: a logistic
regression on each single frozen layer), and this module reports:

* :func:`collect`: ``results[feature][task]``, the runs of a task's folds
  averaged (metrics, layer weights and reference);
* :func:`reference_table`: per classification task and feature set, the
  probe, the best layer of its reference and the whole row, flagging a
  probe that ends more than :data:`TOLERANCE` points below it;
* :func:`verdicts` and :func:`verdict_lines`: per task, whether ``ssl``
  beats ``random_init`` and ``fbank`` by the probe and by the reference,
  and whether the two agree.

Authors
-------
* summary_ssl contributors 2026
"""

#: Points a probe may end below its single-layer reference unflagged.
TOLERANCE = 2.0
#: The baselines the ``ssl`` features must beat.
BASELINES = ("random_init", "fbank")


def average_reference(references):
    """The mean reference of several folds (per layer, then the best).

    Arguments
    ---------
    references : list of dict
        :func:`~summary_ssl.probes.layer_reference.reference_summary`
        outputs of the same encoder (same number of layers).

    Returns
    -------
    dict or None
        Same keys (``test``, ``valid``, ``best_layer``, ``best``; ``l2``
        is left out); None if any fold has none.

    Example
    -------
    >>> ref = average_reference([
    ...     {"test": [50.0, 70.0], "valid": [50.0, 60.0]},
    ...     {"test": [60.0, 50.0], "valid": [40.0, 60.0]}])
    >>> ref["test"], ref["best_layer"], ref["best"]
    ([55.0, 60.0], 1, 60.0)
    """
    if not references or any(r is None for r in references):
        return None
    out = {}
    for key in ("test", "valid"):
        rows = [r[key] for r in references]
        out[key] = [sum(col) / len(rows) for col in zip(*rows)]
    test = out["test"]
    out["best_layer"] = max(range(len(test)), key=lambda i: (test[i], -i))
    out["best"] = test[out["best_layer"]]
    return out


def average(results):
    """Mean metrics, layer weights and reference over folds.

    Arguments
    ---------
    results : list of dict or None
        The ``metrics.json`` of each fold of one task and feature set
        (None: the run failed).

    Returns
    -------
    dict or None
        ``metrics``, ``layer_weights``, ``reference`` (None for a task
        without one) and ``folds``; None if any fold failed.

    Example
    -------
    >>> folds = [{"metrics": {"accuracy": 60.0}, "layer_weights": [1.0]},
    ...          {"metrics": {"accuracy": 70.0}, "layer_weights": [1.0]}]
    >>> out = average(folds)
    >>> out["metrics"], out["reference"]
    ({'accuracy': 65.0}, None)
    """
    if not results or any(r is None for r in results):
        return None
    metrics = {
        key: sum(r["metrics"][key] for r in results) / len(results)
        for key in results[0]["metrics"]
    }
    weights = [
        sum(ws) / len(results)
        for ws in zip(*(r["layer_weights"] for r in results))
    ]
    return {
        "metrics": metrics,
        "layer_weights": weights,
        "reference": average_reference([r.get("reference") for r in results]),
        "folds": results,
    }


def collect(runs, outcomes):
    """``results[feature][task]``: the averaged runs (or None).

    Arguments
    ---------
    runs : list of dict
        The planned runs (``feature`` and ``task`` keys).
    outcomes : list of dict or None
        Their ``metrics.json`` (None: failed), in the same order.

    Returns
    -------
    dict
    """
    grouped = {}
    for run, outcome in zip(runs, outcomes):
        key = (run["feature"], run["task"])
        grouped.setdefault(key, []).append(outcome)
    results = {}
    for (feature, task), items in grouped.items():
        results.setdefault(feature, {})[task] = average(items)
    return results


def _main(spec, result):
    """The main metric of a run's result (None if missing)."""
    if result is None:
        return None
    return (result.get("metrics") or {}).get(spec.metrics[0][0])


def _reference(result):
    return None if result is None else result.get("reference")


def reference_table(tasks, results, tolerance=TOLERANCE):
    """The markdown section of the single-layer references.

    Arguments
    ---------
    tasks : list of (str, TaskSpec)
        Task keys and specs (the first metric is the probe's accuracy).
    results : dict
        ``results[feature][task]`` (see :func:`collect`).
    tolerance : float
        A probe more than this many points below its reference's best
        layer is flagged.

    Returns
    -------
    list of str
        The section's lines; empty when no run has a reference.

    Example
    -------
    >>> from summary_ssl.probes.report import TaskSpec
    >>> tasks = [("KWS", TaskSpec("Keywords", (("accuracy", "%"),)))]
    >>> ref = {"test": [79.6, 81.4, 73.6], "best_layer": 1, "best": 81.4}
    >>> lines = reference_table(tasks, {"ssl": {"KWS": {
    ...     "metrics": {"accuracy": 73.2}, "reference": ref}}})
    >>> print(lines[-1])
    | KWS | ssl | 73.20 | 81.40 (layer 1) | -8.20: more than 2 points \
below its reference | 79.6, 81.4, 73.6 |
    """
    rows = []
    for key, spec in tasks:
        for feature, by_task in results.items():
            result = by_task.get(key)
            ref = _reference(result)
            if ref is None:
                continue
            probe = _main(spec, result)
            gap = "n/a" if probe is None else f"{probe - ref['best']:+.2f}"
            if probe is not None and probe < ref["best"] - tolerance:
                gap += f": more than {tolerance:g} points below its reference"
            layers = ", ".join(f"{a:.1f}" for a in ref["test"])
            rows.append(
                f"| {key} | {feature} | "
                + ("—" if probe is None else f"{probe:.2f}")
                + f" | {ref['best']:.2f} (layer {ref['best_layer']}) | {gap} "
                f"| {layers} |"
            )
    if not rows:
        return []
    return [
        "### Single-layer reference",
        "",
        "Beside each classification probe, a logistic regression on each "
        "single frozen layer, mean-pooled and standardised with training "
        "statistics, its L2 chosen on validation "
        "(`summary_ssl.probes.layer_reference`), on the probe's own splits "
        "and features: what a linear probe over the learned layer sum "
        "should reach. Test accuracy (%); layer 0 is the encoder's input.",
        "",
        "| task | features | probe | reference: best layer | probe − "
        "reference | reference per layer |",
        "|---|---|---|---|---|---|",
    ] + rows


def judge(scores, lower_is_better=False):
    """Whether ``ssl`` beats each baseline in ``scores``.

    Arguments
    ---------
    scores : dict
        Feature set -> score (missing or None: no result).
    lower_is_better : bool
        Direction of the score.

    Returns
    -------
    dict or None
        ``ssl``, ``baselines`` (name -> score), ``loses_to`` (the
        baselines ``ssl`` does not beat strictly) and ``beats_all``; None
        when ``ssl`` or every baseline is missing.

    Example
    -------
    >>> judge({"ssl": 73.2, "random_init": 75.8, "fbank": 59.8})["loses_to"]
    ['random_init']
    >>> judge({"ssl": 5.0, "fbank": 6.0}, lower_is_better=True)["beats_all"]
    True
    """
    ssl = scores.get("ssl")
    baselines = {
        name: scores[name] for name in BASELINES if scores.get(name) is not None
    }
    if ssl is None or not baselines:
        return None
    sign = -1.0 if lower_is_better else 1.0
    loses_to = [
        name
        for name, value in baselines.items()
        if not sign * ssl > sign * value
    ]
    return {
        "ssl": ssl,
        "baselines": baselines,
        "loses_to": loses_to,
        "beats_all": not loses_to,
    }


def verdicts(tasks, results):
    """Per task: the probe's judgement, the reference's and whether they
    agree.

    Arguments
    ---------
    tasks : list of (str, TaskSpec)
        Task keys and specs.
    results : dict
        ``results[feature][task]`` (see :func:`collect`).

    Returns
    -------
    list of dict
        ``task``, ``probe`` and ``reference`` (:func:`judge` outputs, or
        None) and ``agree`` (None unless both exist).
    """
    out = []
    for key, spec in tasks:
        by_feature = {f: by_task.get(key) for f, by_task in results.items()}
        probe = judge(
            {f: _main(spec, r) for f, r in by_feature.items()},
            spec.lower_is_better,
        )
        reference = judge(
            {
                f: (_reference(r) or {}).get("best")
                for f, r in by_feature.items()
            }
        )
        agree = None
        if probe is not None and reference is not None:
            agree = probe["beats_all"] == reference["beats_all"] and set(
                probe["loses_to"]
            ) == set(reference["loses_to"])
        out.append(
            {
                "task": key,
                "probe": probe,
                "reference": reference,
                "agree": agree,
            }
        )
    return out


def _sentence(judgement, fmt):
    values = ", ".join(
        f"{name} {fmt(v)}" for name, v in judgement["baselines"].items()
    )
    head = f"ssl {fmt(judgement['ssl'])} vs {values}: "
    if judgement["beats_all"]:
        which = "both" if len(judgement["baselines"]) > 1 else "it"
        return head + f"ssl beats {which}"
    return head + "ssl does NOT beat " + " and ".join(judgement["loses_to"])


def verdict_lines(items):
    """The verdict section of ``results.md``: one line per task.

    Arguments
    ---------
    items : list of dict
        :func:`verdicts`' output.

    Returns
    -------
    list of str

    Example
    -------
    >>> probe = judge({"ssl": 73.2, "random_init": 75.8, "fbank": 59.8})
    >>> ref = judge({"ssl": 81.4, "random_init": 76.6, "fbank": 65.0})
    >>> print(verdict_lines([{"task": "KWS", "probe": probe,
    ...                       "reference": ref, "agree": False}])[-1])
    - KWS: by the probe, ssl 73.20 vs random_init 75.80, fbank 59.80: ssl \
does NOT beat random_init; by the reference, ssl 81.40 vs random_init \
76.60, fbank 65.00: ssl beats both. The probe and the reference DISAGREE: \
the probe's ranking is not the features'.
    """
    lines = [
        "## Verdict",
        "",
        "Does `ssl` beat `random_init` and `fbank`? By the probe (the "
        "table above) and, for classification, by the single-layer "
        "reference (its best layer).",
        "",
    ]
    for item in items:
        probe, ref = item["probe"], item["reference"]
        if probe is None and ref is None:
            lines.append(
                f"- {item['task']}: no comparison (the ssl run failed, or "
                "no baseline ran)."
            )
            continue
        parts = []
        if probe is not None:
            parts.append("by the probe, " + _sentence(probe, "{:.2f}".format))
        if ref is not None:
            parts.append("by the reference, " + _sentence(ref, "{:.2f}".format))
        line = f"- {item['task']}: " + "; ".join(parts) + "."
        if item["agree"] is False:
            line += (
                " The probe and the reference DISAGREE: the probe's "
                "ranking is not the features'."
            )
        elif item["agree"]:
            line += " The probe and the reference agree."
        elif ref is None:
            line += " (No single-layer reference for this task.)"
        lines.append(line)
    return lines
