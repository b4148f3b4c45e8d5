#!/usr/bin/env python3
"""Runs the MP3S probes on one exported encoder, with the baselines.

For each task (LibriSpeech ASR, SLURP IC, IEMOCAP ER, VoxCeleb1 SV) it
trains one probe on three kinds of features: ``ssl`` (the exported encoder,
frozen), ``random_init`` (the same architecture with random frozen
weights) and ``fbank`` (normalised filterbanks). Each run is the task's
``train.py`` in a subprocess; the runner collects their ``metrics.json``
and writes ``results.md`` (a table), ``results.json`` and
``layer_weights.png`` (the learned layer weights of the ``ssl`` probes).

Usage::

    python recipes/MP3S/run_benchmark.py \\
        --ssl_folder results/wav2vec2/exported_encoder \\
        --data_root /data --output_folder results/MP3S_benchmark

``--data_root`` holds ``LibriSpeech/``, ``SLURP/``, ``IEMOCAP/`` and
``VoxCeleb1/`` in their real layouts (default: the toy corpus).

Authors
 * summary_ssl contributors 2026
"""

import argparse
import json
import logging
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from summary_ssl.dataio.toy_corpus import TOY_CORPUS_DIR
from summary_ssl.probes.report import (
    TaskSpec,
    plot_layer_weights,
    results_table,
)

logger = logging.getLogger("run_benchmark")

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Task:
    """One MP3S task: where its recipe is and how it is reported."""

    recipe: str  # folder under recipes/MP3S
    data: str  # folder under --data_root
    probes: tuple  # YAML names; the first is the default
    spec: TaskSpec


TASKS = {
    "ASR": Task(
        "LibriSpeech/ASR",
        "LibriSpeech",
        ("bilstm_ctc", "linear_ctc"),
        TaskSpec("LibriSpeech ASR", (("WER", "%"), ("CER", "%")), True),
    ),
    "IC": Task(
        "SLURP/IC",
        "SLURP",
        ("linear", "bilstm"),
        TaskSpec("SLURP IC", (("accuracy", "%"),)),
    ),
    "ER": Task(
        "IEMOCAP/ER",
        "IEMOCAP",
        ("linear", "ecapa"),
        TaskSpec("IEMOCAP ER", (("accuracy", "%"),)),
    ),
    "SV": Task(
        "VoxCeleb1/SV",
        "VoxCeleb1",
        ("xvector", "ecapa"),
        TaskSpec("VoxCeleb1 SV", (("EER", "%"), ("minDCF", "")), True),
    ),
}

#: Feature type -> train.py overrides; the rows of the table, in order.
FEATURES = {
    "ssl": ["--features=ssl", "--random_init=False"],
    "random_init": ["--features=ssl", "--random_init=True"],
    "fbank": ["--features=fbank", "--random_init=False"],
}


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Runs the MP3S probes on an exported encoder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--ssl_folder", required=True, help="exported encoder folder"
    )
    parser.add_argument(
        "--data_root",
        default=TOY_CORPUS_DIR,
        help="folder with LibriSpeech/ SLURP/ IEMOCAP/ VoxCeleb1/",
    )
    parser.add_argument("--output_folder", default="results/MP3S_benchmark")
    parser.add_argument(
        "--tasks", nargs="+", default=list(TASKS), choices=list(TASKS)
    )
    parser.add_argument(
        "--probes",
        nargs="+",
        default=[],
        metavar="TASK=PROBE",
        help="probe per task, e.g. ASR=linear_ctc SV=ecapa (defaults: "
        + ", ".join(f"{k}={t.probes[0]}" for k, t in TASKS.items())
        + ")",
    )
    parser.add_argument(
        "--no-baselines",
        dest="baselines",
        action="store_false",
        help="only the ssl features (no random_init, no fbank)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override number_of_epochs"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda:0, ...")
    parser.add_argument(
        "--er_folds",
        default=None,
        help="IEMOCAP test sessions: 'all' or e.g. '1,2' (the accuracies "
        "are averaged); default: the YAML's test_session",
    )
    parser.add_argument(
        "--cache_features",
        action="store_true",
        help="cache the frozen features (shared by the runs of a dataset)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        default=[],
        metavar="[TASK:]KEY=VALUE",
        help="hparams overrides, applied to the runs whose YAML has KEY "
        "(e.g. hidden_size=32 ASR:batch_size=4)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs at the same time"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS of each run (default: inherited)",
    )
    args = parser.parse_args(argv)
    if not os.path.isdir(args.ssl_folder):
        parser.error(f"--ssl_folder {args.ssl_folder} is not a folder")
    # The runs start in their recipe folders: make every path absolute.
    for name in ("ssl_folder", "data_root", "output_folder"):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    args.probe_of = {key: task.probes[0] for key, task in TASKS.items()}
    for item in args.probes:
        key, _, probe = item.partition("=")
        if key not in TASKS or probe not in TASKS[key].probes:
            parser.error(
                f"--probes {item}: expected TASK=PROBE with TASK in "
                f"{list(TASKS)} and PROBE among its YAML files"
            )
        args.probe_of[key] = probe
    return args


def yaml_keys(path):
    """Top-level keys of a YAML file (without loading it)."""
    with open(path, encoding="utf-8") as f:
        return set(re.findall(r"^([A-Za-z_]\w*):", f.read(), re.MULTILINE))


def overrides_for(task_key, yaml_path, overrides):
    """The ``--set`` overrides that apply to one run (as train.py args)."""
    keys = yaml_keys(yaml_path)
    args = []
    for item in overrides:
        scope, sep, rest = item.partition(":")
        if sep and scope in TASKS:
            if scope != task_key:
                continue
            item = rest
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--set {item}: expected KEY=VALUE")
        if key in keys:
            args.append(f"--{key}={value}")
    return args


def er_sessions(spec):
    """IEMOCAP test sessions from ``--er_folds`` (None: the YAML's)."""
    if spec is None:
        return [None]
    if spec == "all":
        return [1, 2, 3, 4, 5]
    return [int(s) for s in spec.split(",")]


def plan_runs(args):
    """Every train.py run: dicts with the command and where it writes."""
    features = list(FEATURES) if args.baselines else ["ssl"]
    runs, used = [], set()
    for task_key in args.tasks:
        task = TASKS[task_key]
        probe = args.probe_of[task_key]
        recipe = os.path.join(HERE, task.recipe)
        yaml_path = os.path.join(recipe, "hparams", f"{probe}.yaml")
        sessions = [None]
        if task_key == "ER":
            sessions = er_sessions(args.er_folds)
        for feature in features:
            for session in sessions:
                name = f"{task_key}_{probe}/{feature}"
                if session is not None:
                    name += f"/fold{session}"
                out = os.path.join(args.output_folder, "runs", name)
                cmd = [
                    sys.executable,
                    os.path.join(recipe, "train.py"),
                    yaml_path,
                    f"--data_folder={os.path.join(args.data_root, task.data)}",
                    f"--ssl_folder={args.ssl_folder}",
                    f"--output_folder={out}",
                    f"--device={args.device}",
                ] + FEATURES[feature]
                if args.epochs is not None:
                    cmd.append(f"--number_of_epochs={args.epochs}")
                if session is not None:
                    cmd.append(f"--test_session={session}")
                if args.cache_features:
                    cache = os.path.join(
                        args.output_folder, "feature_cache", task.data
                    )
                    cmd += ["--cache_features=True", f"--feature_cache={cache}"]
                extra = overrides_for(task_key, yaml_path, args.overrides)
                used.update(a.split("=")[0][2:] for a in extra)
                cmd += extra
                runs.append(
                    {
                        "task": task_key,
                        "feature": feature,
                        "session": session,
                        "name": name,
                        "recipe": recipe,
                        "output_folder": out,
                        "cmd": cmd,
                    }
                )
    for item in args.overrides:
        key = item.rpartition(":")[2].partition("=")[0]
        if key not in used:
            logger.warning(f"--set {item}: no run's YAML has {key!r}")
    return runs


def execute(run, threads=None):
    """Runs one train.py; returns its metrics.json content or None."""
    os.makedirs(run["output_folder"], exist_ok=True)
    log_path = os.path.join(run["output_folder"], "runner.log")
    metrics_path = os.path.join(run["output_folder"], "metrics.json")
    if os.path.exists(metrics_path):  # from an earlier run
        os.remove(metrics_path)
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    start = time.time()
    logger.info(f"start {run['name']}")
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(shlex.join(run["cmd"]) + "\n\n")
        log.flush()
        proc = subprocess.run(
            run["cmd"],
            cwd=run["recipe"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    seconds = time.time() - start
    if proc.returncode != 0 or not os.path.isfile(metrics_path):
        logger.error(
            f"{run['name']} failed (exit {proc.returncode}, {seconds:.0f} s)"
            f": see {log_path}"
        )
        return None
    logger.info(f"done {run['name']} in {seconds:.0f} s")
    with open(metrics_path, encoding="utf-8") as f:
        result = json.load(f)
    result["seconds"] = seconds
    return result


def average(results):
    """Mean metrics and layer weights over folds (None if any failed)."""
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
    return {"metrics": metrics, "layer_weights": weights, "folds": results}


def collect(runs, outcomes):
    """results[feature][task] -> averaged run result (or None)."""
    grouped = {}
    for run, outcome in zip(runs, outcomes):
        key = (run["feature"], run["task"])
        grouped.setdefault(key, []).append(outcome)
    results = {}
    for (feature, task), items in grouped.items():
        results.setdefault(feature, {})[task] = average(items)
    return results


def write_report(args, runs, results, command):
    """Writes results.md, results.json and layer_weights.png."""
    os.makedirs(args.output_folder, exist_ok=True)
    tasks = []
    for key in args.tasks:
        spec = TASKS[key].spec
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
    sessions = sorted(
        {
            fold.get("test_session")
            for by_task in results.values()
            for fold in ((by_task.get("ER") or {}).get("folds") or [])
        }
        - {None}
    )
    labels = sorted(
        {
            fold.get("label")
            for by_task in results.values()
            for fold in ((by_task.get("IC") or {}).get("folds") or [])
        }
        - {None}
    )
    notes = [
        f"- Encoder: `{args.ssl_folder}`",
        f"- Data: `{args.data_root}`",
        "- Epochs: "
        + (str(args.epochs) if args.epochs else "the YAML defaults"),
        "- IEMOCAP ER: "
        + (
            "mean over test sessions " + ", ".join(map(str, sessions))
            if len(sessions) > 1
            else f"test session {sessions[0]}"
            if sessions
            else "not run"
        ),
        "- SLURP IC label: " + (", ".join(labels) or "not run"),
        "- minDCF: normalised (NIST), p_target = 0.01.",
        "- Rows: `ssl` = the frozen encoder, `random_init` = the same "
        "architecture with random frozen weights, `fbank` = 80 normalised "
        "filterbanks. — = the run failed (see its runner.log).",
    ]
    text = (
        "# MP3S benchmark\n\n"
        + table
        + "\n\n"
        + "\n".join(notes)
        + "\n\nLearned layer weights of the `ssl` probes: "
        "[layer_weights.png](layer_weights.png)\n\n"
        + "Command:\n\n```\n"
        + command
        + "\n```\n"
    )
    with open(
        os.path.join(args.output_folder, "results.md"), "w", encoding="utf-8"
    ) as f:
        f.write(text)
    with open(
        os.path.join(args.output_folder, "results.json"), "w", encoding="utf-8"
    ) as f:
        json.dump({"command": command, "results": results}, f, indent=2)
    weights = {
        TASKS[task].spec.name: r["layer_weights"]
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


def main(argv=None):
    """Plans, runs and reports; returns 1 if any run failed."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    command = shlex.join(["python", os.path.relpath(__file__)] + argv)
    runs = plan_runs(args)
    logger.info(f"{len(runs)} runs, {args.jobs} at a time")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda run: execute(run, args.threads), runs))
    results = collect(runs, outcomes)
    text = write_report(args, runs, results, command)
    print(text)
    failed = [run["name"] for run, out in zip(runs, outcomes) if out is None]
    if failed:
        logger.error(f"failed runs: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
