"""Speaker verification data from speaker-labelled folders of audio.

Writes the four CSV files of :func:`~summary_ssl.dataio.voxceleb.
prepare_voxceleb` (``train``, ``dev``, ``test``, ``trials``), so the
VoxCeleb1 SV probe runs unchanged on any speaker-labelled recordings, e.g.
the LibriSpeech excerpts of ``real_speech/``:

* the **test** speakers come from ``data_folder``, and the trial list
  pairs every two of their files (``n (n - 1) / 2`` trials: 4,950 for
  10 speakers x 10 files), label 1 for the same speaker;
* the **training** speakers come from ``train_folder`` (they must differ
  from the test speakers). Each speaker's last file (natural name order)
  gives its final ``dev_seconds`` to ``dev.csv``, for the validation
  accuracy that picks the checkpoint, when it is at least twice as long
  (the rest of it trains); a shorter last file goes to ``dev.csv`` whole
  if the speaker has other files, and trains otherwise. Rows carry
  ``start`` and ``stop`` (seconds), so a speaker with a single recording
  still trains and validates on different audio.

The speaker of a file is the name of its top subfolder under the folder
(``<folder>/<speaker>/.../<file>``) or, for files directly in the folder,
its name up to the first ``-`` (LibriSpeech's ``<speaker>-<chapter>-<utt>``).
Every file is decoded in full; unreadable ones are counted and excluded,
and so are the trials that need them.

Example
-------
>>> import numpy as np, soundfile as sf
>>> tmp = getfixture("tmp_path")
>>> for spk in ("a", "b"):
...     (tmp / "test" / spk).mkdir(parents=True)
...     for n in range(2):
...         sf.write(tmp / "test" / spk / f"{n}.wav", np.zeros(800), 16000)
>>> (tmp / "train").mkdir()
>>> for spk in ("c", "d"):
...     sf.write(tmp / "train" / f"{spk}-1-0.wav", np.zeros(80000), 16000)
>>> csvs = prepare_speaker_folder(tmp / "test", tmp / "csv",
...                               train_folder=tmp / "train", progress=False)
>>> from summary_ssl.dataio.prepare_utils import read_csv
>>> [(r["label"], r["enrol"], r["test"]) for r in read_csv(csvs["trials"])][:2]
[('1', 'a--0', 'a--1'), ('0', 'a--0', 'b--0')]
>>> [(r["spk_id"], r["start"], r["stop"]) for r in read_csv(csvs["dev"])]
[('c', '3.0', '5.0'), ('d', '3.0', '5.0')]

Authors
 * summary_ssl contributors 2026
"""

import itertools
import logging
import os
from collections import Counter

from summary_ssl.dataio.audio_checks import ExclusionReport, require_path
from summary_ssl.dataio.labelled_folder import natural_key
from summary_ssl.dataio.prepare_utils import (
    checked_rows,
    csv_paths,
    prepare_once,
    write_csv,
    write_report,
)
from summary_ssl.dataio.voxceleb import CSV_NAMES, TRIAL_FIELDS

logger = logging.getLogger(__name__)

FIELDS = ["ID", "duration", "wav", "spk_id", "start", "stop"]


def prepare_speaker_folder(
    data_folder,
    save_folder,
    train_folder,
    dev_seconds=2.0,
    extensions=(".flac", ".wav"),
    sample_rate=16000,
    resample=False,
    skip_prep=False,
    progress=True,
):
    """Writes train/dev/test utterances and all-pairs trials.

    Arguments
    ---------
    data_folder : str
        The test speakers' recordings.
    save_folder : str
        Where the CSV, exclusion and options files go.
    train_folder : str
        The training speakers' recordings.
    dev_seconds : float
        Audio held out from each training speaker for validation.
    extensions : sequence of str
        Audio file extensions (case-insensitive).
    sample_rate, resample, skip_prep, progress
        The options every preparation shares (see
        :mod:`~summary_ssl.dataio.prepare_utils`); every file is decoded.

    Returns
    -------
    dict
        ``train``, ``dev``, ``test``, ``trials`` -> CSV path.
    """
    outputs = csv_paths(save_folder, CSV_NAMES)
    if skip_prep:
        return outputs
    require_path(data_folder, "test speaker folder")
    require_path(train_folder, "training speaker folder")
    extensions = tuple(sorted(e.lower() for e in extensions))
    checks = dict(sample_rate=sample_rate, resample=resample)
    options = dict(
        checks,
        data_folder=os.path.abspath(data_folder),
        train_folder=os.path.abspath(train_folder),
        dev_seconds=dev_seconds,
        extensions=list(extensions),
    )
    checks.update(decode=True, progress=progress)

    def write():
        test_files = speaker_files(data_folder, extensions)
        train_files = speaker_files(train_folder, extensions)
        shared = sorted(set(test_files) & set(train_files))
        if shared:
            raise ValueError(
                f"speakers {shared[:5]} are in both {data_folder} and "
                f"{train_folder}: verification needs unseen test speakers"
            )
        test_rows = _checked(data_folder, test_files, outputs["test"], checks)
        for row in test_rows:
            row.update(start=0.0, stop=row["duration"])
        write_csv(outputs["test"], test_rows, FIELDS)
        train_rows = _checked(
            train_folder, train_files, outputs["train"], checks
        )
        train_rows, dev_rows = split_dev(train_rows, dev_seconds)
        write_csv(outputs["train"], train_rows, FIELDS)
        write_csv(outputs["dev"], dev_rows, FIELDS)
        _write_all_pairs(outputs["trials"], test_rows, test_files)
        logger.info(
            "speaker folders: %d training speakers (%d rows, %d dev), %d "
            "test speakers (%d files)",
            len({r["spk_id"] for r in train_rows}),
            len(train_rows),
            len(dev_rows),
            len({r["spk_id"] for r in test_rows}),
            len(test_rows),
        )

    return prepare_once(
        save_folder,
        outputs,
        options,
        "prepare_speaker_folder",
        "speaker folders",
        write,
    )


def speaker_of(folder, path):
    """The speaker of a file (see the module docstring).

    Example
    -------
    >>> speaker_of("/d", "/d/1688/1688-142285-0000.flac")
    '1688'
    >>> speaker_of("/d", "/d/103-1240-0000.flac")
    '103'
    """
    rel = os.path.relpath(path, folder).split(os.sep)
    if len(rel) > 1:
        return rel[0]
    return rel[0].split("-")[0]


def speaker_files(folder, extensions):
    """Speaker -> audio paths in natural name order."""
    files = {}
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in names:
            if name.lower().endswith(extensions):
                path = os.path.join(root, name)
                files.setdefault(speaker_of(folder, path), []).append(path)
    for speaker in files:
        files[speaker].sort(
            key=lambda p: natural_key(os.path.relpath(p, folder))
        )
    return dict(sorted(files.items()))


def utterance_id(folder, path):
    """``<relative path without extension>`` with ``/`` -> ``--``."""
    rel = os.path.splitext(os.path.relpath(path, folder))[0]
    return rel.replace(os.sep, "--")


def split_dev(rows, dev_seconds):
    """Moves the last ``dev_seconds`` of each speaker's last file to dev
    (or the whole file, when it is shorter than twice that and the
    speaker has others).

    Arguments
    ---------
    rows : list of dict
        Checked rows (``spk_id``, ``duration``), in each speaker's order.
    dev_seconds : float
        Length of the held-out tail.

    Returns
    -------
    train_rows, dev_rows : list of dict

    Example
    -------
    >>> rows = [{"ID": "a0", "spk_id": "a", "duration": 1.0},
    ...         {"ID": "a1", "spk_id": "a", "duration": 1.0},
    ...         {"ID": "b0", "spk_id": "b", "duration": 5.0}]
    >>> train, dev = split_dev(rows, 2.0)
    >>> [(r["ID"], r["stop"]) for r in train], [r["ID"] for r in dev]
    ([('a0', 1.0), ('b0', 3.0)], ['a1', 'b0--dev'])
    """
    last = {row["spk_id"]: i for i, row in enumerate(rows)}
    files = Counter(row["spk_id"] for row in rows)
    train, dev = [], []
    for i, row in enumerate(rows):
        row = dict(row, start=0.0, stop=row["duration"])
        if last[row["spk_id"]] != i:
            train.append(row)
        elif row["duration"] >= 2 * dev_seconds:
            cut = row["duration"] - dev_seconds
            dev.append(
                dict(
                    row,
                    ID=row["ID"] + "--dev",
                    start=cut,
                    duration=dev_seconds,
                )
            )
            row.update(stop=cut, duration=cut)
            train.append(row)
        elif files[row["spk_id"]] > 1:
            dev.append(row)
        else:
            train.append(row)
    return train, dev


def _checked(folder, files, csv_path, checks):
    """Decodes every file; writes the exclusions beside ``csv_path`` and
    returns the rows of the readable files."""
    items = [
        (path, {"ID": utterance_id(folder, path), "spk_id": speaker})
        for speaker, paths in files.items()
        for path in paths
    ]
    name = os.path.splitext(os.path.basename(csv_path))[0]
    report = ExclusionReport(f"speaker folder {name}")
    rows = checked_rows(items, report, desc=name, **checks)
    write_report(report, os.path.dirname(csv_path), csv_path)
    return rows


def _write_all_pairs(path, rows, files):
    """Writes every pair of kept test files as a trial."""
    trials = []
    for enrol, test in itertools.combinations(rows, 2):
        trials.append(
            {
                "ID": f"trial{len(trials):06d}",
                "label": int(enrol["spk_id"] == test["spk_id"]),
                "enrol": enrol["ID"],
                "test": test["ID"],
                "enrol_wav": enrol["wav"],
                "test_wav": test["wav"],
            }
        )
    n_files = sum(len(p) for p in files.values())
    possible = n_files * (n_files - 1) // 2
    if len(trials) < possible:
        logger.warning(
            "speaker trials: dropped %d of %d pairs that use an excluded "
            "file (see excluded_test.txt)",
            possible - len(trials),
            possible,
        )
    write_csv(path, trials, TRIAL_FIELDS)
