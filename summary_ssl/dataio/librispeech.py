"""LibriSpeech data preparation.

Reads the real layout, ``<data_folder>/<split>/<speaker>/<chapter>/`` with
``<speaker>-<chapter>-<utt4>.flac`` files and a
``<speaker>-<chapter>.trans.txt`` transcript per chapter, and writes one
SpeechBrain CSV per split with the columns ``ID,duration,wav,spk_id,wrd``.
Every transcript line is checked against its audio file; exclusions are
counted, logged and written to ``excluded_<split>.txt``.

Example
-------
>>> import numpy as np, soundfile as sf
>>> root = getfixture("tmp_path") / "LibriSpeech"
>>> chapter = root / "dev-clean" / "84" / "121123"
>>> chapter.mkdir(parents=True)
>>> sf.write(chapter / "84-121123-0000.flac", np.zeros(16000), 16000)
>>> _ = (chapter / "84-121123.trans.txt").write_text("84-121123-0000 GO\\n")
>>> csvs = prepare_librispeech(
...     root, getfixture("tmp_path") / "csv", splits=["dev-clean"],
...     progress=False,
... )
>>> from summary_ssl.dataio.prepare_utils import read_csv
>>> read_csv(csvs["dev-clean"])  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
[{'ID': '84-121123-0000', 'duration': '1.0000', 'wav': '/...',
  'spk_id': '84', 'wrd': 'GO'}]

Authors
 * summary_ssl contributors 2026
"""

import glob
import os

from summary_ssl.dataio.audio_checks import require_path
from summary_ssl.dataio.prepare_utils import (
    audio_checks,
    csv_paths,
    prepare_once,
    write_checked_csv,
)

FIELDS = ["ID", "duration", "wav", "spk_id", "wrd"]
SPLITS = ("train-clean-100", "dev-clean", "test-clean")


def prepare_librispeech(
    data_folder,
    save_folder,
    splits=SPLITS,
    sample_rate=16000,
    min_duration=None,
    max_duration=None,
    resample=False,
    skip_prep=False,
    progress=True,
    decode=False,
    workers=2,
):
    """Writes ``<save_folder>/<split>.csv`` for each LibriSpeech split.

    Arguments
    ---------
    data_folder : str
        The folder holding the split folders (``.../LibriSpeech``).
    save_folder : str
        Where the CSV, exclusion and options files go.
    splits : sequence of str
        Split folder names (``train-clean-100``, ``dev-clean``...).
    sample_rate, min_duration, max_duration, resample, decode, workers
        The audio checks (see :mod:`~summary_ssl.dataio.prepare_utils`).
    skip_prep, progress : bool
        The options every preparation shares (see
        :mod:`~summary_ssl.dataio.prepare_utils`).

    Returns
    -------
    dict
        Split name -> CSV path.
    """
    outputs = csv_paths(save_folder, splits)
    if skip_prep:
        return outputs
    checks = audio_checks(
        sample_rate, min_duration, max_duration, resample, decode=decode
    )
    options = dict(
        checks, data_folder=os.path.abspath(data_folder), splits=list(splits)
    )

    def write():
        for split in splits:
            items = _transcribed_files(data_folder, split)
            write_checked_csv(
                outputs[split],
                items,
                FIELDS,
                f"LibriSpeech {split}",
                progress=progress,
                workers=workers,
                **checks,
            )

    return prepare_once(
        save_folder,
        outputs,
        options,
        "prepare_librispeech",
        "LibriSpeech CSV files",
        write,
    )


def _transcribed_files(data_folder, split):
    """Returns (audio path, fields) for every transcript line of a split."""
    split_dir = require_path(
        os.path.join(data_folder, split), f"LibriSpeech split {split!r}"
    )
    pattern = os.path.join(split_dir, "*", "*", "*.trans.txt")
    trans_files = sorted(glob.glob(pattern))
    if not trans_files:
        raise FileNotFoundError(f"no transcripts found: expected {pattern}")
    items = []
    for trans in trans_files:
        folder = os.path.dirname(trans)
        with open(trans, encoding="utf-8") as fin:
            for line in fin:
                if not line.strip():
                    continue
                utt_id, _, words = line.strip().partition(" ")
                fields = {
                    "ID": utt_id,
                    "spk_id": utt_id.split("-")[0],
                    "wrd": words.strip(),
                }
                items.append((os.path.join(folder, f"{utt_id}.flac"), fields))
    return items
