#!/usr/bin/env python3
"""Runs the MP3S probes on one exported encoder, with the baselines.

For each task it trains one probe on three kinds of features: ``ssl`` (the
exported encoder, frozen), ``random_init`` (the same architecture with
random frozen weights) and ``fbank`` (normalised filterbanks). Each run is
the task's ``train.py`` in a subprocess; the runner collects their
``metrics.json`` and writes ``results.md`` (the table, the protocol and
every deviation from MP3S, the single-layer reference beside each
classification probe, the published numbers, and the verdict: does
``ssl`` beat its baselines, by the probe and by the reference),
``results.json`` and ``layer_weights.png`` (the learned layer weights of
the ``ssl`` probes).

Usage::

    python recipes/MP3S/run_benchmark.py \\
        --ssl_folder results/wav2vec2/exported_encoder \\
        --data_root /data --output_folder results/MP3S_benchmark

``--protocol mp3s`` (default) runs MP3S's settings, ``--protocol fast``
cheaper ones (see ``summary_ssl/probes/protocols.py``). ``--data_root``
holds ``LibriSpeech/``, ``SLURP/``, ``IEMOCAP/`` and ``VoxCeleb1/`` in their
real layouts (default: the toy corpus). ``--real_speech DIR`` runs the two
real-speech tasks instead: ``KWS`` (keyword classification on
``DIR/wake_words``) and ``SV`` (verification of the speakers of
``DIR/librispeech_excerpts/librispeech_test-other``, trained on
``.../librispeech_train-clean-100``).

From Python::

    sys.path.insert(0, "recipes/MP3S")
    from run_benchmark import run_benchmark
    report = run_benchmark(ssl_folder, output_folder, protocol="fast",
                           real_speech="/data/real_speech")

Authors
 * summary_ssl contributors 2026
"""

import argparse
import json
import logging
import os
import re
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from summary_ssl.dataio.toy_corpus import TOY_CORPUS_DIR
from summary_ssl.probes.protocols import PROTOCOLS, deviations
from summary_ssl.probes.published import published_block
from summary_ssl.probes.report import (
    TaskSpec,
    plot_layer_weights,
    results_table,
)
from summary_ssl.probes.runs import execute, time_summary
from summary_ssl.probes.verdict import (
    collect,
    reference_table,
    verdict_lines,
    verdicts,
)

logger = logging.getLogger("run_benchmark")

HERE = os.path.dirname(os.path.abspath(__file__))

#: LibriSpeech test sets of MP3S's ASR task.
ASR_TEST_SPLITS = ("test-clean", "test-other")
#: Folders of the real-speech tasks under --real_speech.
KEYWORDS = "wake_words"
SPEAKERS_TEST = "librispeech_excerpts/librispeech_test-other"
SPEAKERS_TRAIN = "librispeech_excerpts/librispeech_train-clean-100"


@dataclass(frozen=True)
class Task:
    """One task: where its recipe is, its data, and how it is reported."""

    recipe: str  # folder under recipes/MP3S
    data: str  # folder under --data_root (or --real_speech)
    probes: tuple  # YAML names; the first is the default
    spec: TaskSpec
    args: tuple = ()  # extra train.py arguments


TASKS = {
    "ASR": Task(
        "LibriSpeech/ASR",
        "LibriSpeech",
        ("bilstm_ctc", "linear_ctc"),
        TaskSpec(
            "LibriSpeech ASR",
            (("WER test-clean", "%"), ("WER test-other", "%")),
            True,
        ),
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

#: The tasks of --real_speech: same recipes, real recordings.
REAL_TASKS = {
    "KWS": Task(
        "SLURP/IC",
        KEYWORDS,
        ("linear", "bilstm"),
        TaskSpec("Keywords (real, 6 classes)", (("accuracy", "%"),)),
        ("--data_source=labelled_folder",),
    ),
    "SV": Task(
        "VoxCeleb1/SV",
        SPEAKERS_TEST,
        ("xvector", "ecapa"),
        TaskSpec(
            "LibriSpeech speakers SV (real, 4,950 trials)",
            (("EER", "%"), ("minDCF", "")),
            True,
        ),
        ("--data_source=speaker_folder",),
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
        present = [
            split
            for split in ASR_TEST_SPLITS
            if os.path.isdir(os.path.join(folder, split))
        ]
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


def plan_runs(args):
    """Every train.py run: dicts with the command and where it writes.

    Sets ``args.notes`` (what the data made the runner change)."""
    features = list(FEATURES) if args.baselines else ["ssl"]
    runs, used, args.notes = [], set(), []
    for task_key in args.tasks:
        task = args.task_defs[task_key]
        probe = args.probe_of[task_key]
        recipe = os.path.join(HERE, task.recipe)
        yaml_path = os.path.join(recipe, "hparams", f"{probe}.yaml")
        data, notes = data_args(args, task_key, task)
        args.notes += notes
        folds = er_speakers(args.er_folds) if task_key == "ER" else [None]
        for feature in features:
            for fold in folds:
                name = f"{task_key}_{probe}/{feature}"
                if fold is not None:
                    name += f"/speaker{fold}"
                out = os.path.join(args.output_folder, "runs", name)
                cmd = (
                    [
                        sys.executable,
                        os.path.join(recipe, "train.py"),
                        yaml_path,
                    ]
                    + data
                    + list(task.args)
                    + [
                        f"--ssl_folder={args.ssl_folder}",
                        f"--output_folder={out}",
                        f"--device={args.device}",
                        f"--protocol={args.protocol}",
                    ]
                    + FEATURES[feature]
                )
                if args.epochs is not None:
                    cmd.append(f"--number_of_epochs={args.epochs}")
                if fold is not None:
                    cmd += ["--split=speaker", f"--test_speaker={fold}"]
                if args.cache_features:
                    cache = os.path.join(
                        args.output_folder,
                        "feature_cache",
                        task.data.replace("/", "_"),
                    )
                    cmd += ["--cache_features=True", f"--feature_cache={cache}"]
                extra = overrides_for(task_key, yaml_path, args.overrides)
                used.update(a.split("=")[0][2:] for a in extra)
                cmd += extra
                runs.append(
                    {
                        "task": task_key,
                        "feature": feature,
                        "fold": fold,
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


def notes(args, results):
    """The notes of results.md: protocol, data, and every deviation."""
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
    folds = sorted(
        {
            fold.get("test_speaker")
            for by_task in results.values()
            for fold in ((by_task.get("ER") or {}).get("folds") or [])
        }
        - {None}
    )
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
    labels = sorted(
        {
            fold.get("label")
            for by_task in results.values()
            for key in ("IC", "KWS")
            for fold in ((by_task.get(key) or {}).get("folds") or [])
        }
        - {None}
    )
    if labels:
        lines.append("- Classification labels: " + ", ".join(labels))
    if any(t in args.tasks for t in ("SV",)):
        lines.append("- minDCF: normalised (NIST), p_target = 0.01.")
    lines.append(
        "- Rows: `ssl` = the frozen encoder, `random_init` = the same "
        "architecture with random frozen weights, `fbank` = 80 normalised "
        "filterbanks. — = the run failed (see its runner.log)."
    )
    if getattr(args, "time_line", None):
        lines.append(args.time_line)
    lines += ["", "### Deviations from MP3S", ""]
    for key in args.tasks:
        task = args.task_defs[key]
        yaml_path = os.path.join(
            HERE, task.recipe, "hparams", f"{args.probe_of[key]}.yaml"
        )
        for item in deviations(args.protocol, key, yaml_path):
            lines.append(f"- {key}: {item}")
    if args.epochs is not None:
        lines.append(
            f"- all tasks: `number_of_epochs` {args.epochs} (--epochs)"
        )
    for item in args.overrides:
        lines.append(f"- `--set {item}`")
    for note in getattr(args, "notes", []):
        lines.append(f"- {note}")
    return lines


def write_report(args, runs, results, command):
    """Writes results.md, results.json and layer_weights.png."""
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
        + "\n".join(notes(args, results))
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
    with open(
        os.path.join(args.output_folder, "results.md"), "w", encoding="utf-8"
    ) as f:
        f.write(text)
    with open(
        os.path.join(args.output_folder, "results.json"), "w", encoding="utf-8"
    ) as f:
        json.dump(
            {
                "command": command,
                "protocol": args.protocol,
                "results": results,
                "verdict": judged,
            },
            f,
            indent=2,
        )
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


def benchmark(args, command):
    """Plans, runs and reports an argparse namespace (see parse_args).

    Returns
    -------
    dict
        ``text`` (results.md), ``results`` (feature -> task -> averaged
        run result or None) and ``failed`` (names of the failed runs).
    """
    runs = plan_runs(args)
    logger.info(f"{len(runs)} runs, {args.jobs} at a time")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda r: execute(r, args.threads), runs))
    results = collect(runs, outcomes)
    args.time_line = time_summary(runs, outcomes)
    text = write_report(args, runs, results, command)
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
