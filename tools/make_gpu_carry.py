"""Builds the real-speech folder that a GPU visit carries (issue 21, item 4).

The GPU machine has no ``../shared``: the device tool sends the checkout
and the ignored paths named in ``carry``, 64 MiB in all, wheels included.
The whole ``real_speech/`` is 144 MiB, so this copies a subset into
``.carry/real_speech`` (git ignores ``.carry/``), in the same layout, so
that ``tools/real_speech_eval.py --root .carry/real_speech`` and
``tools/learning_stage.py --root .carry/real_speech`` work there:

* the probes' files, exactly those ``real_speech_eval.py`` picks from the
  full corpus: 100 training and 60 test files of each keyword (the 70 /
  30 blocks are recorded in ``keyword_blocks.json``, which
  ``real_speech_eval.keyword_blocks`` reads, so the carried subset keeps
  the full corpus's split) and the 10 x 10 test-other speaker files;
* as many train-clean-100 excerpts as the budget leaves (a seeded draw).

Pretraining reads the keywords' training files (minus 3 per keyword held
out for validation) and the train-clean-100 excerpts, as
``real_speech_check.py`` does; never the test files.

The budget is 64 MiB minus what else travels: the checkout's tracked and
untracked-not-ignored files (measured with git) and the wheels (``.whl/``,
or ``--wheels``), minus ``--margin-mib``. It prints the sizes.

Usage (from the repository root)::

    mkdir -p .whl && cp ../shared/gpu_wheels_py312/*.whl .whl/
    python tools/make_gpu_carry.py            # -> .carry/real_speech
    # then, on the GPU machine (benchmarks/README.md, "GPU visit"):
    # run(command="bash benchmarks/gpu_check.sh",
    #     carry=[".whl", ".carry"], timeout_s=600)

``--link`` makes symbolic links instead of copies (local dry runs only:
the device tool does not follow links out of the checkout).

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_speech_eval as rse  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, ".carry", "real_speech")
DEFAULT_WHEELS = os.path.join(REPO, "..", "shared", "gpu_wheels_py312")
LIMIT_MIB = 64.0
MIB = 2**20
# --dry: keywords, and per keyword training and test files (10 readable
# at least: the kw10 probe); speakers x files each; train-clean-100 excerpts
# (tools/learning_stage.py --dry, tests/integration/test_learning_stage_dry.py)
DRY = dict(keywords=3, n_train=12, n_test=3, speakers=3, per_speaker=2, ls100=3)
LS100 = os.path.join("librispeech_excerpts", "librispeech_train-clean-100")
EXTRA = (  # small files kept beside the audio (licences, notes)
    "README.md",
    os.path.join("wake_words", "LICENSE"),
    os.path.join("librispeech_excerpts", "LICENSE.Resemblyzer"),
)


def checkout_bytes(repo=REPO):
    """Bytes of what the device tool always sends: tracked and untracked,
    not ignored files of the checkout (a deleted tracked file counts 0)."""
    names = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    total = 0
    for name in filter(None, names):
        path = os.path.join(repo, os.fsdecode(name))
        if os.path.isfile(path) and not os.path.islink(path):
            total += os.path.getsize(path)
    return total


def folder_bytes(folder, pattern="*.whl"):
    """Bytes of the files matching ``pattern`` in ``folder`` (0 if none)."""
    return sum(
        os.path.getsize(f) for f in glob.glob(os.path.join(folder, pattern))
    )


def probe_selection(root, dry=False):
    """The probes' files of the full corpus, relative to ``root``: the
    training and test files ``real_speech_eval`` picks for each keyword,
    as {keyword: (train, test)}, and the speaker files. ``dry``: a few of
    them (``DRY``), for smoke runs."""
    blocks = {}
    keywords = rse.keyword_blocks(root)
    if dry:
        keywords = dict(list(keywords.items())[: DRY["keywords"]])
    for kw, (train, test) in keywords.items():
        picked = (rse._spread(train, 100), rse._spread(test, 60))
        if dry:
            picked = (
                rse._spread(picked[0], DRY["n_train"]),
                rse._spread(picked[1], DRY["n_test"]),
            )
        blocks[kw] = tuple(
            [os.path.relpath(f, root) for f in part] for part in picked
        )
    speakers = [f for f, _ in rse.speaker_files(root)]
    if dry:
        by = {}
        for f in speakers:
            by.setdefault(os.path.dirname(f), []).append(f)
        speakers = [
            f
            for folder in sorted(by)[: DRY["speakers"]]
            for f in by[folder][: DRY["per_speaker"]]
        ]
    return blocks, [os.path.relpath(f, root) for f in speakers]


def pretraining_pool(root, seed=0):
    """The train-clean-100 excerpts, relative, in a seeded random order."""
    files = sorted(glob.glob(os.path.join(root, LS100, "*.flac")))
    random.Random(seed).shuffle(files)
    return [os.path.relpath(f, root) for f in files]


def build(root, out, budget, link=False, dry=False):
    """Copies (or links) the subset into ``out``; returns a summary dict.

    Raises ValueError when the probes' files alone exceed ``budget``."""
    blocks, speakers = probe_selection(root, dry)
    fixed = [f for train, test in blocks.values() for f in train + test]
    fixed += speakers
    fixed += [e for e in EXTRA if os.path.isfile(os.path.join(root, e))]
    manifest = json.dumps(
        {
            kw: {
                "train": [os.path.basename(f) for f in train],
                "test": [os.path.basename(f) for f in test],
            }
            for kw, (train, test) in blocks.items()
        },
        indent=0,
    )
    size = lambda rel: os.path.getsize(os.path.join(root, rel))  # noqa: E731
    used = sum(size(f) for f in fixed) + len(manifest)
    if used > budget:
        raise ValueError(
            f"the probes' files alone are {used / MIB:.1f} MiB, over the "
            f"budget of {budget / MIB:.1f} MiB"
        )
    extra = []
    pool = pretraining_pool(root)
    for rel in pool[: DRY["ls100"]] if dry else pool:
        if used + size(rel) <= budget:
            extra.append(rel)
            used += size(rel)
    if os.path.exists(out):
        shutil.rmtree(out)
    for rel in fixed + sorted(extra):
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        src = os.path.abspath(os.path.join(root, rel))
        if link:
            os.symlink(src, dest)
        else:
            shutil.copyfile(src, dest)
    with open(os.path.join(out, rse.BLOCKS_FILE), "w") as f:
        f.write(manifest)  # ASCII names: len() is its size
    seconds = sum(_seconds(os.path.join(root, rel)) for rel in extra)
    return {
        "files": len(fixed) + len(extra),
        "bytes": used,
        "probe_bytes": sum(size(f) for f in fixed),
        "ls100_files": len(extra),
        "ls100_minutes": seconds / 60,
        "keyword_train_minutes": sum(
            _seconds(os.path.join(root, f))
            for train, _ in blocks.values()
            for f in train
        )
        / 60,
    }


def _seconds(path):
    import soundfile

    return soundfile.info(path).duration


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=rse.DEFAULT_ROOT)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument(
        "--wheels",
        default=None,
        help="folder of the carried wheels (default .whl/, else "
        "../shared/gpu_wheels_py312)",
    )
    parser.add_argument("--margin-mib", type=float, default=1.0)
    parser.add_argument(
        "--budget-mib",
        type=float,
        default=None,
        help="size of the folder (default: 64 MiB minus the checkout, "
        "the wheels and the margin)",
    )
    parser.add_argument("--link", action="store_true", help="symlinks")
    parser.add_argument(
        "--dry",
        action="store_true",
        help="a few files only, for the stage's CPU dry run",
    )
    args = parser.parse_args()
    if not os.path.isdir(args.root):
        parser.error(f"no real_speech folder at {args.root} (--root)")
    wheels = args.wheels
    if wheels is None:
        local = os.path.join(REPO, ".whl")
        wheels = local if glob.glob(local + "/*.whl") else DEFAULT_WHEELS
    tree, whl = checkout_bytes(), folder_bytes(wheels)
    budget = args.budget_mib
    if budget is None:
        budget = LIMIT_MIB - (tree + whl) / MIB - args.margin_mib
    info = build(
        args.root, args.out, int(budget * MIB), link=args.link, dry=args.dry
    )
    total = tree + whl + info["bytes"]
    print(
        f"{args.out}: {info['files']} files, {info['bytes'] / MIB:.1f} MiB "
        f"(probes {info['probe_bytes'] / MIB:.1f} MiB; pretraining: the "
        f"keywords' training files, {info['keyword_train_minutes']:.1f} min, "
        f"+ {info['ls100_files']} train-clean-100 excerpts, "
        f"{info['ls100_minutes']:.1f} min)"
    )
    print(
        f"travels: checkout {tree / MIB:.1f} + wheels {whl / MIB:.1f} "
        f"({wheels}) + carry {info['bytes'] / MIB:.1f} = "
        f"{total / MIB:.1f} MiB of {LIMIT_MIB:.0f}"
    )


if __name__ == "__main__":
    main()
