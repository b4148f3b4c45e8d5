"""VoxCeleb1 data preparation for speaker verification.

Reads ``<data_folder>/wav/<speaker>/<youtube_id>/<nnnnn>.wav`` and the
trial list (``veri_test2.txt``: ``<0|1> <enrol> <test>`` with paths
relative to ``wav/``) and writes:

* ``train.csv`` and ``dev.csv``: every utterance of the speakers that are
  not in the trial list, split per speaker (``ID,duration,wav,spk_id``);
* ``test.csv``: every utterance of the trial list (enrolment and test);
* ``trials.csv``: ``ID,label,enrol,test,enrol_wav,test_wav`` with absolute
  paths, for the trials whose two files were kept.

SpeechBrain's own script silently drops utterances shorter than 3 s. This
one drops nothing unless asked (``min_duration``), and counts and logs
every exclusion and every trial it had to drop.

Example
-------
>>> import numpy as np, soundfile as sf
>>> root = getfixture("tmp_path") / "VoxCeleb1"
>>> for spk in ("id1", "id2", "id3"):  # id3 trains, the others test
...     (root / "wav" / spk / "v").mkdir(parents=True)
...     for n in (1, 2):
...         sf.write(root / "wav" / spk / "v" / f"0000{n}.wav",
...                  np.zeros(8000), 16000)
>>> _ = (root / "veri_test2.txt").write_text(
...     "1 id1/v/00001.wav id1/v/00002.wav\\n"
...     "0 id1/v/00001.wav id2/v/00001.wav\\n")
>>> csvs = prepare_voxceleb(root, getfixture("tmp_path") / "csv",
...                         progress=False)
>>> from summary_ssl.dataio.prepare_utils import read_csv
>>> [len(read_csv(csvs[name])) for name in CSV_NAMES]
[1, 1, 3, 2]

Authors
 * summary_ssl contributors 2026
"""

import logging
import os
import random

from summary_ssl.dataio.audio_checks import require_path
from summary_ssl.dataio.prepare_utils import (
    audio_checks,
    csv_paths,
    prepare_once,
    write_checked_csv,
    write_csv,
)

logger = logging.getLogger(__name__)

FIELDS = ["ID", "duration", "wav", "spk_id"]
TRIAL_FIELDS = ["ID", "label", "enrol", "test", "enrol_wav", "test_wav"]
#: The CSV files of a speaker verification preparation (also
#: :func:`~summary_ssl.dataio.speaker_folder.prepare_speaker_folder`'s).
CSV_NAMES = ("train", "dev", "test", "trials")


def prepare_voxceleb(
    data_folder,
    save_folder,
    verification_pairs_file="veri_test2.txt",
    dev_ratio=0.1,
    seed=1234,
    sample_rate=16000,
    min_duration=None,
    max_duration=None,
    resample=False,
    skip_prep=False,
    progress=True,
):
    """Writes the VoxCeleb1 train/dev/test CSV files and the trials.

    Arguments
    ---------
    data_folder : str
        The VoxCeleb1 root, holding ``wav/``.
    save_folder : str
        Where the CSV, exclusion and options files go.
    verification_pairs_file : str
        The trial list, absolute or relative to ``data_folder``; its
        speakers are the test speakers.
    dev_ratio : float
        Share of each training speaker's utterances put in ``dev.csv``
        (at least one when the speaker has two or more).
    seed : int
        Seed of the train/dev split.
    sample_rate, min_duration, max_duration, resample, skip_prep, progress
        The options every preparation shares (see
        :mod:`~summary_ssl.dataio.prepare_utils`); no length filter by
        default.

    Returns
    -------
    dict
        ``train``, ``dev``, ``test``, ``trials`` -> CSV path.
    """
    outputs = csv_paths(save_folder, CSV_NAMES)
    if skip_prep:
        return outputs
    wav_dir = require_path(
        os.path.join(data_folder, "wav"), "VoxCeleb wav folder"
    )
    trials_file = require_path(
        os.path.join(data_folder, verification_pairs_file),
        "VoxCeleb trial list",
    )
    checks = audio_checks(sample_rate, min_duration, max_duration, resample)
    options = dict(
        checks,
        data_folder=os.path.abspath(data_folder),
        verification_pairs_file=os.path.abspath(trials_file),
        dev_ratio=dev_ratio,
        seed=seed,
    )

    def write():
        trials = read_trials(trials_file)
        test_utts = sorted({u for _, e, t in trials for u in (e, t)})
        test_speakers = {u.split("/")[0] for u in test_utts}
        train_utts, dev_utts = _split(
            _speaker_utterances(wav_dir, test_speakers), dev_ratio, seed
        )
        for name, utts in (("train", train_utts), ("dev", dev_utts)):
            _write_utterances(wav_dir, utts, outputs[name], progress, checks)
        kept = _write_utterances(
            wav_dir, test_utts, outputs["test"], progress, checks
        )
        _write_trials(outputs["trials"], trials, kept)

    return prepare_once(
        save_folder,
        outputs,
        options,
        "prepare_voxceleb",
        "VoxCeleb CSV files",
        write,
    )


def read_trials(path):
    """Reads a VoxCeleb trial list.

    Arguments
    ---------
    path : str
        A file of ``<0|1> <enrol path> <test path>`` lines.

    Returns
    -------
    list of (int, str, str)
        (label, enrol, test), paths relative to ``wav/``.

    Example
    -------
    >>> import os
    >>> path = os.path.join(getfixture("tmp_path"), "veri.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("1 id10270/a/00001.wav id10270/b/00002.wav\\n")
    >>> read_trials(path)
    [(1, 'id10270/a/00001.wav', 'id10270/b/00002.wav')]
    """
    trials = []
    with open(path, encoding="utf-8") as fin:
        for number, line in enumerate(fin, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3 or parts[0] not in ("0", "1"):
                raise ValueError(f"{path}:{number}: not a trial: {line!r}")
            trials.append((int(parts[0]), parts[1], parts[2]))
    return trials


def utterance_id(rel):
    """Returns the ID of a ``<spk>/<video>/<nnnnn>.wav`` path.

    Example
    -------
    >>> utterance_id("id10270/x6uYqmx31kE/00001.wav")
    'id10270--x6uYqmx31kE--00001'
    """
    return os.path.splitext(rel)[0].replace("/", "--")


def _speaker_utterances(wav_dir, excluded_speakers):
    """Returns speaker -> sorted relative paths, for the other speakers."""
    utts = {}
    for speaker in sorted(os.listdir(wav_dir)):
        spk_dir = os.path.join(wav_dir, speaker)
        if speaker in excluded_speakers or not os.path.isdir(spk_dir):
            continue
        for video in sorted(os.listdir(spk_dir)):
            video_dir = os.path.join(spk_dir, video)
            if not os.path.isdir(video_dir):
                continue
            for name in sorted(os.listdir(video_dir)):
                if name.lower().endswith(".wav"):
                    rel = f"{speaker}/{video}/{name}"
                    utts.setdefault(speaker, []).append(rel)
    return utts


def _split(speaker_utts, dev_ratio, seed):
    """Splits each speaker's utterances into train and dev."""
    rng = random.Random(seed)
    train, dev = [], []
    for speaker in sorted(speaker_utts):
        utts = list(speaker_utts[speaker])
        rng.shuffle(utts)
        n_dev = max(1, round(len(utts) * dev_ratio)) if len(utts) > 1 else 0
        dev += sorted(utts[:n_dev])
        train += sorted(utts[n_dev:])
    return train, dev


def _write_utterances(wav_dir, utts, path, progress, checks):
    """Checks and writes one utterance CSV; returns the kept IDs -> path."""
    items = [
        (
            os.path.join(wav_dir, *rel.split("/")),
            {"ID": utterance_id(rel), "spk_id": rel.split("/")[0]},
        )
        for rel in utts
    ]
    name = os.path.splitext(os.path.basename(path))[0]
    rows = write_checked_csv(
        path, items, FIELDS, f"VoxCeleb {name}", progress=progress, **checks
    )
    return {row["ID"]: row["wav"] for row in rows}


def _write_trials(path, trials, kept):
    """Writes the trials whose two utterances were kept."""
    rows, dropped = [], 0
    for number, (label, enrol, test) in enumerate(trials):
        enrol_id, test_id = utterance_id(enrol), utterance_id(test)
        if enrol_id not in kept or test_id not in kept:
            dropped += 1
            continue
        rows.append(
            {
                "ID": f"trial{number:06d}",
                "label": label,
                "enrol": enrol_id,
                "test": test_id,
                "enrol_wav": kept[enrol_id],
                "test_wav": kept[test_id],
            }
        )
    if dropped:
        logger.warning(
            "VoxCeleb trials: dropped %d of %d trials that use an excluded "
            "utterance (see excluded_test.txt)",
            dropped,
            len(trials),
        )
    write_csv(path, rows, TRIAL_FIELDS)
