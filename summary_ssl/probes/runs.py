"""The benchmark's recipe runs: :func:`plan_runs` lists them (one
``train.py`` per task, feature set and fold: dicts with ``name``, ``cmd``,
``recipe`` and ``output_folder``) and :func:`execute` runs one in a
subprocess, with its log, its ``metrics.json`` and the CPU time it used;
``recipes/MP3S/run_benchmark.py`` hands them to it several at a time.

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import os
import shlex
import subprocess
import sys
import time

from summary_ssl.brains.hparams_keys import top_level_keys
from summary_ssl.probes.tasks import (
    ASR_TEST_SPLITS,
    REAL_TASKS,
    SPEAKERS_TRAIN,
    TASKS,
)

logger = logging.getLogger("run_benchmark")

#: Feature type -> train.py overrides; the rows of the table, in order.
FEATURES = {
    "ssl": ["--features=ssl", "--random_init=False"],
    "random_init": ["--features=ssl", "--random_init=True"],
    "fbank": ["--features=fbank", "--random_init=False"],
}


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
        returncode, cpu = run_child(
            run["cmd"], cwd=run["recipe"], stdout=log, env=env
        )
    seconds = time.time() - start
    if returncode != 0 or not os.path.isfile(metrics_path):
        logger.error(
            f"{run['name']} failed (exit {returncode}, {seconds:.0f} s)"
            f": see {log_path}"
        )
        return None
    logger.info(f"done {run['name']} in {seconds:.0f} s ({cpu:.0f} s CPU)")
    with open(metrics_path, encoding="utf-8") as f:
        result = json.load(f)
    result["seconds"] = seconds
    result["cpu_seconds"] = cpu
    return result


def run_child(cmd, cwd, stdout, env):
    """Runs a command; returns (exit status, CPU seconds it used).

    The CPU time (user + system, its waited-for children included) comes
    from ``os.wait4``, so it is exact even when other runs share the
    machine; ``None`` where ``wait4`` does not exist.
    """
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT, env=env
    )
    if not hasattr(os, "wait4"):
        return proc.wait(), float("nan")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def time_summary(runs, outcomes):
    """One line: runs, wall and CPU seconds (see :func:`run_child`).

    Example
    -------
    >>> time_summary([{}, {}], [{"seconds": 10.0, "cpu_seconds": 4.0}, None])
    '- Time: 1 of 2 runs finished; 10 s of run time and 4 s of CPU time \
in all (per run: `results.json`).'
    """
    done = [o for o in outcomes if o is not None]
    wall = sum(o["seconds"] for o in done)
    cpu = sum(o.get("cpu_seconds", 0.0) for o in done)
    return (
        f"- Time: {len(done)} of {len(runs)} runs finished; {wall:.0f} s "
        f"of run time and {cpu:.0f} s of CPU time in all (per run: "
        "`results.json`)."
    )


def overrides_for(task_key, yaml_path, overrides):
    """The ``--set`` overrides that apply to one run (as train.py args)."""
    with open(yaml_path, encoding="utf-8") as f:
        keys = set(top_level_keys(f.read()))
    args = []
    for item in overrides:
        scope, sep, rest = item.partition(":")
        if sep and (scope in TASKS or scope in REAL_TASKS):
            if scope != task_key:
                continue
            item = rest
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--set {item}: expected KEY=VALUE")
        if key in keys:
            args.append(f"--{key}={value}")
    return args


def er_speakers(spec):
    """IEMOCAP test speakers from ``--er_folds`` (None: the YAML's)."""
    if spec is None:
        return [None]
    if spec == "all":
        return list(range(1, 11))
    return [int(s) for s in spec.split(",")]


def data_args(args, task_key, task):
    """The train.py data arguments of a task, and notes on its data."""
    if args.real_speech:
        root = args.real_speech
        cmd = [f"--data_folder={os.path.join(root, task.data)}"]
        if task_key == "SV":
            cmd.append(f"--train_folder={os.path.join(root, SPEAKERS_TRAIN)}")
        return cmd, []
    folder = os.path.join(args.data_root, task.data)
    cmd, notes = [f"--data_folder={folder}"], []
    if task_key == "ASR":
        present = [s for s in ASR_TEST_SPLITS if os.path.isdir(f"{folder}/{s}")]
        if not present:
            raise FileNotFoundError(
                f"none of {ASR_TEST_SPLITS} is in {folder}: nothing to test"
            )
        if len(present) < len(ASR_TEST_SPLITS):
            missing = sorted(set(ASR_TEST_SPLITS) - set(present))
            cmd.append(f"--test_splits=[{', '.join(present)}]")
            notes.append(
                f"ASR: {', '.join(missing)} not found under {folder}: "
                "not tested"
            )
    return cmd, notes


def plan_runs(args, recipes):
    """Every train.py run of the runner's options ``args`` (its recipes
    under ``recipes``): dicts with the command and where it writes. Sets
    ``args.notes`` (what the data made the runner change)."""
    features = list(FEATURES) if args.baselines else ["ssl"]
    runs, used, args.notes = [], set(), []
    for task_key in args.tasks:
        task = args.task_defs[task_key]
        probe = args.probe_of[task_key]
        recipe = os.path.join(recipes, task.recipe)
        yaml_path = os.path.join(recipe, "hparams", f"{probe}.yaml")
        data, notes = data_args(args, task_key, task)
        args.notes += notes
        folds = er_speakers(args.er_folds) if task_key == "ER" else [None]
        epochs = []
        if args.epochs is not None:
            epochs = [f"--number_of_epochs={args.epochs}"]
        cache = []
        if args.cache_features:
            folder = task.data.replace("/", "_")
            folder = os.path.join(args.output_folder, "feature_cache", folder)
            cache = ["--cache_features=True", f"--feature_cache={folder}"]
        extra = overrides_for(task_key, yaml_path, args.overrides)
        used.update(a.split("=")[0][2:] for a in extra)
        for feature in features:
            for fold in folds:
                name = f"{task_key}_{probe}/{feature}"
                split = []
                if fold is not None:
                    name += f"/speaker{fold}"
                    split = ["--split=speaker", f"--test_speaker={fold}"]
                out = os.path.join(args.output_folder, "runs", name)
                cmd = [
                    sys.executable,
                    os.path.join(recipe, "train.py"),
                    yaml_path,
                    *data,
                    *task.args,
                    f"--ssl_folder={args.ssl_folder}",
                    f"--output_folder={out}",
                    f"--device={args.device}",
                    f"--protocol={args.protocol}",
                    *FEATURES[feature],
                    *epochs,
                    *split,
                    *cache,
                    *extra,
                ]
                runs.append(
                    dict(
                        task=task_key,
                        feature=feature,
                        fold=fold,
                        name=name,
                        recipe=recipe,
                        output_folder=out,
                        cmd=cmd,
                    )
                )
    for item in args.overrides:
        key = item.rpartition(":")[2].partition("=")[0]
        if key not in used:
            logger.warning(f"--set {item}: no run's YAML has {key!r}")
    return runs
