#!/usr/bin/env python3
"""Runs the MP3S probes on one exported encoder, with the baselines.

For each task (:mod:`summary_ssl.probes.tasks`) it trains one probe on
three kinds of features: ``ssl`` (the exported encoder, frozen),
``random_init`` (the same architecture with random frozen weights) and
``fbank`` (normalised filterbanks). Each run is the task's ``train.py`` in
a subprocess (:mod:`summary_ssl.probes.runs`); the runner collects their
``metrics.json`` and writes ``results.md``, ``results.json`` and
``layer_weights.png`` (:mod:`summary_ssl.probes.report`).

Usage (options: ``--help`` and ``recipes/MP3S/README.md``)::

    python recipes/MP3S/run_benchmark.py \\
        --ssl_folder results/wav2vec2/exported_encoder \\
        --data_root /data --output_folder results/MP3S_benchmark

From Python: ``run_benchmark(ssl_folder, output_folder, **options)``
with ``recipes/MP3S`` on ``sys.path``.

Authors
 * summary_ssl contributors 2026
"""

import argparse
import logging
import os
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor

from summary_ssl.probes.protocols import PROTOCOLS
from summary_ssl.probes.report import write_report
from summary_ssl.probes.runs import execute, plan_runs, time_summary
from summary_ssl.probes.tasks import (
    KEYWORDS,
    REAL_TASKS,
    SPEAKERS_TEST,
    SPEAKERS_TRAIN,
    TASKS,
)
from summary_ssl.probes.verdict import collect

logger = logging.getLogger("run_benchmark")

#: This folder: the task recipes are under it.
HERE = os.path.dirname(os.path.abspath(__file__))
#: The bundled toy corpus, the default data (in the checkout, not the package)
TOY_CORPUS_DIR = os.path.normpath(f"{HERE}/../../tests/samples/toy_corpus")


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
        "--protocol",
        default="mp3s",
        choices=PROTOCOLS,
        help="mp3s: MP3S's settings (comparable with published numbers); "
        "fast: cheaper settings for small machines",
    )
    parser.add_argument(
        "--data_root",
        default=TOY_CORPUS_DIR,
        help="folder with LibriSpeech/ SLURP/ IEMOCAP/ VoxCeleb1/",
    )
    parser.add_argument(
        "--real_speech",
        default=None,
        help="folder with wake_words/ and librispeech_excerpts/: runs the "
        "real-speech tasks KWS and SV instead of the MP3S datasets",
    )
    parser.add_argument("--output_folder", default="results/MP3S_benchmark")
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=None,
        help="subset of ASR IC ER SV (with --real_speech: of KWS SV); "
        "comma-separated lists work too",
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
        help="IEMOCAP test speakers (MP3S's folds, 1 to 10): 'all' or e.g. "
        "'1,2' (the accuracies are averaged); default: the YAML's "
        "test_speaker (1, as MP3S)",
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
        "(e.g. hidden_size=32 ASR:batch_size=4); listed as deviations",
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
    for name in ("ssl_folder", "data_root", "output_folder", "real_speech"):
        if getattr(args, name) is not None:
            setattr(args, name, os.path.abspath(getattr(args, name)))
    args.task_defs = REAL_TASKS if args.real_speech else TASKS
    if args.tasks is None:
        args.tasks = list(args.task_defs)
    args.tasks = [t for item in args.tasks for t in item.split(",") if t]
    for key in args.tasks:
        if key not in args.task_defs:
            parser.error(
                f"--tasks {key}: expected some of {list(args.task_defs)}"
                + (" (with --real_speech)" if args.real_speech else "")
            )
    if args.real_speech:
        for folder in (KEYWORDS, SPEAKERS_TEST, SPEAKERS_TRAIN):
            if not os.path.isdir(os.path.join(args.real_speech, folder)):
                parser.error(f"--real_speech: {folder}/ not found in it")
    args.probe_of = {key: t.probes[0] for key, t in args.task_defs.items()}
    for item in args.probes:
        key, _, probe = item.partition("=")
        task = args.task_defs.get(key)
        if task is None or probe not in task.probes:
            parser.error(
                f"--probes {item}: expected TASK=PROBE with TASK in "
                f"{list(args.task_defs)} and PROBE among its YAML files"
            )
        args.probe_of[key] = probe
    return args


def benchmark(args, command):
    """Plans, runs and reports an argparse namespace (see parse_args).

    Returns
    -------
    dict
        ``text`` (results.md), ``results`` (feature -> task -> averaged
        run result or None) and ``failed`` (names of the failed runs).
    """
    runs = plan_runs(args, HERE)
    logger.info(f"{len(runs)} runs, {args.jobs} at a time")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda r: execute(r, args.threads), runs))
    results = collect(runs, outcomes)
    args.time_line = time_summary(runs, outcomes)
    text = write_report(args, results, command, HERE)
    failed = [r["name"] for r, out in zip(runs, outcomes) if out is None]
    if failed:
        logger.error(f"failed runs: {failed}")
    return {"text": text, "results": results, "failed": failed}


def to_argv(options):
    """Command-line arguments from keyword options.

    Example
    -------
    >>> to_argv({"ssl_folder": "enc", "tasks": ["KWS", "SV"],
    ...          "baselines": False, "cache_features": True, "epochs": None})
    ['--ssl_folder', 'enc', '--tasks', 'KWS', 'SV', '--no-baselines', \
'--cache_features']
    """
    argv = []
    for key, value in options.items():
        if value is None or value is False and key != "baselines":
            continue
        if key == "baselines":
            argv += [] if value else ["--no-baselines"]
        elif key == "overrides":
            argv += ["--set", *value] if value else []
        elif value is True:
            argv.append(f"--{key}")
        elif isinstance(value, (list, tuple)):
            argv += [f"--{key}", *map(str, value)] if value else []
        else:
            argv += [f"--{key}", str(value)]
    return argv


def run_benchmark(ssl_folder, output_folder, **options):
    """Runs the benchmark from Python (same options as the command line,
    as keywords: ``protocol``, ``real_speech``, ``tasks``, ``data_root``,
    ``baselines``, ``epochs``, ``device``, ``er_folds``,
    ``cache_features``, ``overrides`` (list of ``[TASK:]KEY=VALUE``),
    ``jobs``, ``threads``, ``probes`` (list of ``TASK=PROBE``)).

    Returns
    -------
    dict
        ``text``, ``results`` and ``failed`` (see :func:`benchmark`).
    """
    argv = to_argv(
        dict(ssl_folder=ssl_folder, output_folder=output_folder, **options)
    )
    command = shlex.join(["python", os.path.relpath(__file__)] + argv)
    return benchmark(parse_args(argv), command)


def main(argv=None):
    """The command line; returns 1 if any run failed."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["python", os.path.relpath(__file__)] + argv)
    report = benchmark(parse_args(argv), command)
    print(report["text"])
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
