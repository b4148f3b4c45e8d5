"""Preparation of a label-per-subfolder audio folder for classification.

``<data_folder>/<label>/<name>.flac`` (or ``.wav``): the label of a file is
the name of its subfolder, e.g. the keyword recordings
``wake_words/<keyword>/<n>.flac``. Writes ``train.csv``, ``valid.csv`` and
``test.csv`` with the columns ``ID,duration,wav,label``.

**The split.** Such folders rarely say who spoke, and a random shuffle
would then put each speaker's recordings in every split: the test would
reward memorised voices. The split is made per label over the files in
natural order of their names (``2.flac`` before ``10.flac``): the first
``split_ratio[0]`` % of each label trains, the next block validates, the
last block tests. Recordings numbered in the order they were collected
(where one speaker's takes sit next to each other) then keep most speakers
within one split; names without such an order (random UUIDs) make the split
no better than a shuffle, and nothing can do better without speaker
labels. The split depends on the file names only, so it is the same on
every machine and for every encoder.

**Bad files.** Every file is decoded in full at preparation
(``check_audio(decode=True)``): files that fail (e.g. FLAC that loses sync
half-way, which a header check misses) are excluded, counted per split in
the log and listed in ``excluded_<split>.txt``. They are excluded after the
split, so a bad file never shifts the blocks of the others.

Example
-------
>>> import numpy as np, soundfile as sf
>>> root = getfixture("tmp_path") / "words"
>>> for label in ("yes", "no"):
...     (root / label).mkdir(parents=True)
...     for n in range(10):
...         sf.write(root / label / f"{n}.wav", np.zeros(1600), 16000)
>>> csvs = prepare_labelled_folder(
...     root, getfixture("tmp_path") / "csv", progress=False)
>>> from summary_ssl.dataio.prepare_utils import read_csv
>>> [row["ID"] for row in read_csv(csvs["test"])]
['no--9', 'yes--9']

Authors
 * summary_ssl contributors 2026
"""

import logging
import os
import re
from collections import Counter

from summary_ssl.dataio.audio_checks import require_path
from summary_ssl.dataio.prepare_utils import (
    audio_checks,
    csv_paths,
    format_counts,
    prepare_once,
    write_checked_csv,
)

logger = logging.getLogger(__name__)

FIELDS = ["ID", "duration", "wav", "label"]
SPLITS = ("train", "valid", "test")


def prepare_labelled_folder(
    data_folder,
    save_folder,
    split_ratio=(80, 10, 10),
    extensions=(".flac", ".wav"),
    sample_rate=16000,
    min_duration=None,
    max_duration=None,
    resample=False,
    skip_prep=False,
    progress=True,
):
    """Writes train/valid/test CSV files of a label-per-subfolder folder.

    Arguments
    ---------
    data_folder : str
        Holds one subfolder per label (files below it, at any depth, take
        its name as their label; files directly in ``data_folder`` are
        ignored, with a warning).
    save_folder : str
        Where the CSV, exclusion and options files go.
    split_ratio : sequence of 3 numbers
        Shares of each label's files (in natural name order) for train,
        valid and test; each split gets at least one file of a label with
        three or more.
    extensions : sequence of str
        Audio file extensions (case-insensitive).
    sample_rate, min_duration, max_duration, resample, skip_prep, progress
        The options every preparation shares (see
        :mod:`~summary_ssl.dataio.prepare_utils`); every file is decoded.

    Returns
    -------
    dict
        ``train``, ``valid``, ``test`` -> CSV path.
    """
    outputs = csv_paths(save_folder, SPLITS)
    if skip_prep:
        return outputs
    if len(split_ratio) != 3 or min(split_ratio) < 0 or sum(split_ratio) <= 0:
        raise ValueError(f"split_ratio must be 3 shares, not {split_ratio}")
    require_path(data_folder, "labelled audio folder")
    checks = audio_checks(sample_rate, min_duration, max_duration, resample)
    extensions = sorted(e.lower() for e in extensions)
    options = dict(
        checks,
        data_folder=os.path.abspath(data_folder),
        split_ratio=list(split_ratio),
        extensions=extensions,
    )

    def write():
        files = labelled_files(data_folder, tuple(extensions))
        if not files:
            raise ValueError(
                f"no audio file in a subfolder of {data_folder}: expected "
                "<data_folder>/<label>/<file>"
            )
        blocks = {name: [] for name in SPLITS}
        for label in sorted(files):
            splits = split_blocks(files[label], split_ratio)
            for name, block in zip(SPLITS, splits):
                blocks[name] += [(path, label) for path in block]
        for name in SPLITS:
            items = [
                (path, {"ID": utterance_id(data_folder, path), "label": label})
                for path, label in blocks[name]
            ]
            rows = write_checked_csv(
                outputs[name],
                items,
                FIELDS,
                f"labelled folder {name}",
                progress=progress,
                decode=True,
                **checks,
            )
            counts = Counter(row["label"] for row in rows)
            logger.info("%s: %s", name, format_counts(counts))

    return prepare_once(
        save_folder,
        outputs,
        options,
        "prepare_labelled_folder",
        "labelled folder",
        write,
    )


def natural_key(name):
    """Sort key that orders the numbers in a name by value.

    Example
    -------
    >>> sorted(["10.flac", "2.flac", "b.flac", "1.flac"], key=natural_key)
    ['1.flac', '2.flac', '10.flac', 'b.flac']
    """
    parts = re.split(r"(\d+)", name)
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def split_blocks(paths, split_ratio):
    """Cuts an ordered list into contiguous train/valid/test blocks.

    Arguments
    ---------
    paths : list
        In their order.
    split_ratio : sequence of 3 numbers
        Shares of train, valid and test.

    Returns
    -------
    tuple of 3 lists

    Example
    -------
    >>> split_blocks(list(range(10)), (80, 10, 10))
    ([0, 1, 2, 3, 4, 5, 6, 7], [8], [9])
    >>> split_blocks(list(range(3)), (80, 10, 10))  # one each at least
    ([0], [1], [2])
    """
    n, total = len(paths), float(sum(split_ratio))
    n_valid = round(n * split_ratio[1] / total)
    n_test = round(n * split_ratio[2] / total)
    if n >= 3:
        n_valid = max(n_valid, 1 if split_ratio[1] else 0)
        n_test = max(n_test, 1 if split_ratio[2] else 0)
    n_train = max(0, n - n_valid - n_test)
    return (
        paths[:n_train],
        paths[n_train : n_train + n_valid],
        paths[n_train + n_valid :],
    )


def labelled_files(data_folder, extensions):
    """Label -> audio paths in natural order (see :func:`natural_key`)."""
    files = {}
    for label in sorted(os.listdir(data_folder)):
        folder = os.path.join(data_folder, label)
        if not os.path.isdir(folder):
            if label.lower().endswith(extensions):
                logger.warning("%s is not in a label folder: ignored", label)
            continue
        paths = []
        for root, dirs, names in os.walk(folder, followlinks=True):
            dirs.sort()
            paths += [
                os.path.join(root, f)
                for f in names
                if f.lower().endswith(extensions)
            ]
        if paths:
            files[label] = sorted(
                paths, key=lambda p: natural_key(os.path.relpath(p, folder))
            )
    return files


def utterance_id(data_folder, path):
    """``<label>--<relative path without extension>`` (``/`` -> ``--``).

    Example
    -------
    >>> utterance_id("/data", "/data/alexa/12.flac")
    'alexa--12'
    """
    rel = os.path.splitext(os.path.relpath(path, data_folder))[0]
    return rel.replace(os.sep, "--")
