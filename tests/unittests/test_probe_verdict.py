"""The benchmark's verdict and single-layer reference table
(summary_ssl.probes.verdict) on constructed results: a probe that ranks
the features unlike its reference is called out, a probe far below its
reference is flagged, folds average."""

from summary_ssl.probes.report import TaskSpec
from summary_ssl.probes.verdict import (
    collect,
    reference_table,
    verdict_lines,
    verdicts,
)

TASKS = [
    ("KWS", TaskSpec("Keywords", (("accuracy", "%"),))),
    ("SV", TaskSpec("SV", (("EER", "%"), ("minDCF", "")), True)),
]


def run(accuracy, layers):
    """One classification run's metrics.json, with its reference."""
    best = max(range(len(layers)), key=layers.__getitem__)
    return {
        "metrics": {"accuracy": accuracy},
        "layer_weights": [1.0 / len(layers)] * len(layers),
        "reference": {
            "test": layers,
            "valid": layers,
            "best_layer": best,
            "best": layers[best],
        },
    }


def sv(eer):
    return {"metrics": {"EER": eer, "minDCF": 0.5}, "layer_weights": [1.0]}


def issue_results():
    """The issue's real-speech measurement: the probe ranks random-init
    first, every layer but the top says the pretrained encoder wins."""
    return {
        "ssl": {
            "KWS": run(73.2, [79.6, 80.0, 81.4, 80.7, 73.6]),
            "SV": sv(10.0),
        },
        "random_init": {
            "KWS": run(75.8, [76.6, 72.2, 70.2, 67.6, 68.4]),
            "SV": sv(12.0),
        },
        "fbank": {"KWS": run(59.8, [65.0]), "SV": sv(20.0)},
    }


def test_verdict_flags_a_disagreement():
    items = verdicts(TASKS, issue_results())
    kws, sv_item = items
    assert kws["probe"]["loses_to"] == ["random_init"]
    assert kws["reference"]["beats_all"] and kws["agree"] is False
    lines = verdict_lines(items)
    kws_line = next(line for line in lines if line.startswith("- KWS"))
    assert "ssl does NOT beat random_init" in kws_line
    assert "ssl beats both" in kws_line
    assert "DISAGREE" in kws_line
    # Speaker verification has no reference: the probe alone, lower EER
    # wins, and nothing is called a disagreement.
    assert sv_item["probe"]["beats_all"] and sv_item["reference"] is None
    sv_line = next(line for line in lines if line.startswith("- SV"))
    assert "DISAGREE" not in sv_line and "No single-layer" in sv_line


def test_verdict_agrees_when_the_probe_ranks_like_the_reference():
    results = issue_results()
    results["ssl"]["KWS"]["metrics"]["accuracy"] = 80.5
    kws = verdicts(TASKS, results)[0]
    assert kws["probe"]["beats_all"] and kws["agree"] is True
    line = verdict_lines([kws])[-1]
    assert "agree" in line and "DISAGREE" not in line


def test_verdict_without_baselines_or_ssl():
    results = {"ssl": {"KWS": run(80.0, [80.0])}}
    assert verdicts(TASKS[:1], results)[0]["probe"] is None
    results = {"ssl": {"KWS": None}, "fbank": {"KWS": run(60.0, [60.0])}}
    line = verdict_lines(verdicts(TASKS[:1], results))[-1]
    assert "no comparison" in line


def test_reference_table_flags_probes_far_below_their_reference():
    lines = reference_table(TASKS, issue_results())
    rows = {
        tuple(c.strip() for c in line.split("|")[1:3]): line
        for line in lines
        if line.startswith("| KWS")
    }
    assert set(rows) == {
        ("KWS", "ssl"),
        ("KWS", "random_init"),
        ("KWS", "fbank"),
    }  # SV has no reference: no row
    assert "81.40 (layer 2)" in rows["KWS", "ssl"]
    assert "79.6, 80.0, 81.4, 80.7, 73.6" in rows["KWS", "ssl"]
    assert "-8.20: more than 2 points below" in rows["KWS", "ssl"]
    assert "-0.80" in rows["KWS", "random_init"]
    assert "more than" not in rows["KWS", "random_init"]
    assert "-5.20: more than 2 points below" in rows["KWS", "fbank"]
    assert reference_table(TASKS[1:], issue_results()) == []


def test_collect_averages_folds_and_their_references():
    runs = [
        {"feature": "ssl", "task": "ER"},
        {"feature": "ssl", "task": "ER"},
        {"feature": "fbank", "task": "ER"},
    ]
    outcomes = [run(60.0, [50.0, 70.0]), run(70.0, [60.0, 50.0]), None]
    results = collect(runs, outcomes)
    ssl = results["ssl"]["ER"]
    assert ssl["metrics"] == {"accuracy": 65.0}
    assert ssl["reference"]["test"] == [55.0, 60.0]
    assert ssl["reference"]["best_layer"] == 1
    assert len(ssl["folds"]) == 2 and results["fbank"]["ER"] is None
