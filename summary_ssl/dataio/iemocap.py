"""IEMOCAP data preparation: leave-one-speaker-out (MP3S) or
leave-one-session-out folds.

Reads the labels from ``Session<n>/dialog/EmoEvaluation/<dialog>.txt``
(lines such as ``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>
[2.5000, 2.5000, 2.5000]``) and the audio from
``Session<n>/sentences/wav/<dialog>/<utt>.wav``, keeps the usual four
classes (``neu``, ``hap``, ``sad``, ``ang``, with ``exc`` merged into
``hap``) and writes ``train.csv``, ``valid.csv`` and ``test.csv`` for one
fold. Columns: ``ID,duration,wav,spk_id,session,emo``. Two kinds of fold:

* ``test_speaker`` (1 to 10), MP3S's ``different_speakers: True``: the
  test set is one speaker (speaker ``2s - 1`` is the woman of session
  ``s``, ``2s`` the man), the validation set the other speaker of that
  session, and the other four sessions train;
* ``test_session`` (when ``test_speaker`` is None): the test session, a
  validation session and the other three sessions for training.

The speaker of an utterance is the one who speaks it: the letter after
the last ``_`` of its name (``Ses01F_impro01_M003`` is the man of
session 1), as in SpeechBrain's MP3S preparation.

Unlike SpeechBrain's own script, which insists on the 5,531 utterances of
the full release, this one accepts any subset of sessions and utterances:
missing sessions are logged, utterances with other labels are counted and
logged, and missing or broken audio files are reported like everywhere
else.

Example
-------
A one-session release, its test speaker 1 (the woman) and its validation
speaker the man:

>>> import numpy as np, soundfile as sf
>>> session = getfixture("tmp_path") / "IEMOCAP_full_release" / "Session1"
>>> labels = session / "dialog" / "EmoEvaluation"
>>> labels.mkdir(parents=True)
>>> wavs = session / "sentences" / "wav" / "Ses01F_impro01"
>>> wavs.mkdir(parents=True)
>>> lines = []
>>> for utt, emo in (("F000", "exc"), ("F001", "xxx"), ("M000", "sad")):
...     utt = f"Ses01F_impro01_{utt}"
...     sf.write(wavs / f"{utt}.wav", np.zeros(16000), 16000)
...     lines.append(f"[0.5 - 1.5]\\t{utt}\\t{emo}\\t[2.5, 2.5, 2.5]\\n")
>>> _ = (labels / "Ses01F_impro01.txt").write_text("".join(lines))
>>> csvs = prepare_iemocap(session.parents[1], session.parents[1] / "csv",
...                        sessions=(1,), test_speaker=1, progress=False)
>>> from summary_ssl.dataio.prepare_utils import read_csv
>>> [(row["ID"][-4:], row["emo"]) for row in read_csv(csvs["test"])]
[('F000', 'hap')]
>>> [(row["ID"][-4:], row["emo"]) for row in read_csv(csvs["valid"])]
[('M000', 'sad')]

Authors
 * summary_ssl contributors 2026
"""

import glob
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

FIELDS = ["ID", "duration", "wav", "spk_id", "session", "emo"]
#: The usual 4-class mapping: excited is merged into happy.
LABEL_MAP = {
    "neu": "neu",
    "hap": "hap",
    "exc": "hap",
    "sad": "sad",
    "ang": "ang",
}
RELEASE = "IEMOCAP_full_release"
_LINE = re.compile(r"^\[(\d+\.?\d*)\s*-\s*(\d+\.?\d*)\]\t(\S+)\t(\S+)\t\[")


def prepare_iemocap(
    data_folder,
    save_folder,
    test_session=5,
    valid_session=None,
    test_speaker=None,
    sessions=(1, 2, 3, 4, 5),
    label_map=None,
    sample_rate=16000,
    min_duration=None,
    max_duration=None,
    resample=False,
    skip_prep=False,
    progress=True,
):
    """Writes train/valid/test CSV files for one leave-one-session-out fold.

    Arguments
    ---------
    data_folder : str
        ``IEMOCAP_full_release`` or the folder holding it.
    save_folder : str
        Where the CSV, exclusion and options files go (use one folder per
        fold).
    test_session : int
        The held-out session (1 to 5), when ``test_speaker`` is None.
    valid_session : int, optional
        The validation session. By default, the session before the test
        session, cyclically among the sessions present (5 -> 4, 1 -> 5).
    test_speaker : int, optional
        The held-out speaker (1 to 10): a leave-one-speaker-out fold as
        MP3S (``test_session`` and ``valid_session`` are then unused).
    sessions : sequence of int
        Sessions to use; missing ones are logged and skipped.
    label_map : dict, optional
        Raw label -> class; labels not in it are skipped and counted.
        Defaults to :data:`LABEL_MAP`.
    sample_rate, min_duration, max_duration, resample, skip_prep, progress
        The options every preparation shares (see
        :mod:`~summary_ssl.dataio.prepare_utils`).

    Returns
    -------
    dict
        ``train``, ``valid``, ``test`` -> CSV path.
    """
    outputs = csv_paths(save_folder, _SETS)
    if skip_prep:
        return outputs
    label_map = dict(LABEL_MAP if label_map is None else label_map)
    root = _release_dir(data_folder)
    present = _present_sessions(root, sessions)
    if test_speaker is not None:
        test_session, test_gender = speaker_session(test_speaker)
        valid_session = test_session
        if test_session not in present:
            raise FileNotFoundError(
                f"IEMOCAP session {test_session} of test speaker "
                f"{test_speaker} not found (sessions present: {present})"
            )
    else:
        valid_session = _valid_session(present, test_session, valid_session)
    checks = audio_checks(sample_rate, min_duration, max_duration, resample)
    options = dict(
        checks,
        data_folder=os.path.abspath(data_folder),
        test_session=test_session,
        valid_session=valid_session,
        test_speaker=test_speaker,
        sessions=present,
        label_map=label_map,
    )
    folds = {"test": [test_session], "valid": [valid_session]}
    folds["train"] = [
        s for s in present if s not in (test_session, valid_session)
    ]
    keep = {}  # split -> speaker kept (leave-one-speaker-out)
    if test_speaker is not None:
        other = "M" if test_gender == "F" else "F"
        keep = {
            "test": f"Ses{test_session:02d}{test_gender}",
            "valid": f"Ses{test_session:02d}{other}",
        }

    def write():
        skipped = Counter()
        for name in _SETS:
            items = []
            for session in folds[name]:
                items += _labelled_files(root, session, label_map, skipped)
            if name in keep:
                items = [it for it in items if it[1]["spk_id"] == keep[name]]
            rows = write_checked_csv(
                outputs[name],
                items,
                FIELDS,
                f"IEMOCAP {name}",
                progress=progress,
                **checks,
            )
            logger.info(
                "IEMOCAP %s (sessions %s%s): %s",
                name,
                folds[name],
                f", speaker {keep[name]}" if name in keep else "",
                format_counts(Counter(row["emo"] for row in rows)),
            )
        if skipped:
            logger.info(
                "IEMOCAP: skipped %d utterances with other labels: %s",
                sum(skipped.values()),
                format_counts(skipped),
            )

    return prepare_once(
        save_folder,
        outputs,
        options,
        "prepare_iemocap",
        "IEMOCAP CSV files",
        write,
    )


_SETS = ("train", "valid", "test")


def speaker_session(speaker):
    """Session and gender of MP3S's IEMOCAP speaker number (1 to 10).

    Example
    -------
    >>> speaker_session(1), speaker_session(4)
    ((1, 'F'), (2, 'M'))
    """
    if not 1 <= int(speaker) <= 10:
        raise ValueError(f"IEMOCAP speakers are 1 to 10, not {speaker}")
    speaker = int(speaker)
    return (speaker + 1) // 2, "F" if speaker % 2 else "M"


def _release_dir(data_folder):
    """Returns the folder holding the Session folders."""
    inner = os.path.join(data_folder, RELEASE)
    if os.path.isdir(inner):
        return inner
    return require_path(data_folder, "IEMOCAP folder")


def _present_sessions(root, sessions):
    """Returns the sessions whose folders exist, warning about the others."""
    present = []
    for session in sessions:
        if os.path.isdir(os.path.join(root, f"Session{session}")):
            present.append(session)
        else:
            logger.warning(
                "IEMOCAP: %s is missing, skipping session %d",
                os.path.join(root, f"Session{session}"),
                session,
            )
    return present


def _valid_session(present, test_session, valid_session):
    """Checks the fold and picks the default validation session."""
    if test_session not in present:
        raise FileNotFoundError(
            f"IEMOCAP test session {test_session} not found "
            f"(sessions present: {present})"
        )
    if valid_session is None:
        others = [s for s in present if s != test_session]
        if not others:
            raise ValueError("IEMOCAP: need at least two sessions for a fold")
        earlier = [s for s in others if s < test_session]
        valid_session = max(earlier) if earlier else max(others)
    if valid_session == test_session:
        raise ValueError("the validation and test sessions must differ")
    if valid_session not in present:
        raise FileNotFoundError(
            f"IEMOCAP validation session {valid_session} not found "
            f"(sessions present: {present})"
        )
    return valid_session


def _labelled_files(root, session, label_map, skipped):
    """Returns (wav path, fields) for the kept utterances of a session."""
    session_dir = os.path.join(root, f"Session{session}")
    emo_dir = require_path(
        os.path.join(session_dir, "dialog", "EmoEvaluation"),
        f"IEMOCAP session {session} labels",
    )
    # Only the top-level files: the subfolders (Categorical, Attribute,
    # Self-evaluation) hold per-evaluator files; "._*" are macOS leftovers.
    label_files = [
        f
        for f in sorted(glob.glob(os.path.join(emo_dir, "*.txt")))
        if not os.path.basename(f).startswith(".")
    ]
    items = []
    for label_file in label_files:
        dialog = os.path.splitext(os.path.basename(label_file))[0]
        with open(label_file, encoding="utf-8", errors="replace") as fin:
            for line in fin:
                match = _LINE.match(line)
                if match is None:
                    continue
                utt, label = match.group(3), match.group(4)
                if label not in label_map:
                    skipped[label] += 1
                    continue
                wav = os.path.join(
                    session_dir, "sentences", "wav", dialog, f"{utt}.wav"
                )
                fields = {
                    "ID": utt,
                    "spk_id": f"Ses{session:02d}{utt.rsplit('_', 1)[1][0]}",
                    "session": session,
                    "emo": label_map[label],
                }
                items.append((wav, fields))
    return items
