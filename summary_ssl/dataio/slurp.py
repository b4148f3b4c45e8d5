"""SLURP data preparation (never downloads anything).

Reads ``slurp/{train,devel,test}.jsonl`` (or ``dataset/slurp/``, the layout
of the SLURP repository) and the audio in ``slurp_real/``, and writes one
SpeechBrain CSV per split with one row per *recording*: a jsonl line lists
every recording of its sentence (headset and far-field microphones, several
speakers). Columns: ``ID,duration,wav,scenario,action,intent,transcript``,
where the intent is ``<scenario>_<action>``.

``train_synthetic.jsonl`` (audio in ``slurp_synth/``) is read only when
``synthetic=True`` and the file is there; SpeechBrain's own script
downloads ``slurp_synth`` when it is missing, this one never does.

Example
-------
>>> import json, numpy as np, soundfile as sf
>>> root = getfixture("tmp_path") / "SLURP"
>>> (root / "slurp").mkdir(parents=True)
>>> (root / "slurp_real").mkdir()
>>> for name in ("a-headset.flac", "a.flac"):
...     sf.write(root / "slurp_real" / name, np.zeros(16000), 16000)
>>> entry = {"slurp_id": 7, "sentence": "wake me up", "scenario": "alarm",
...          "action": "set", "intent": "alarm_set",
...          "recordings": [{"file": "a-headset.flac"}, {"file": "a.flac"}]}
>>> _ = (root / "slurp" / "devel.jsonl").write_text(json.dumps(entry))
>>> csvs = prepare_slurp(root, getfixture("tmp_path") / "csv",
...                      splits=["devel"], progress=False)
>>> from summary_ssl.dataio.prepare_utils import read_csv
>>> [(row["ID"], row["intent"]) for row in read_csv(csvs["devel"])]
[('7_0', 'alarm_set'), ('7_1', 'alarm_set')]

Authors
 * summary_ssl contributors 2026
"""

import json
import logging
import os

from summary_ssl.dataio.audio_checks import require_path
from summary_ssl.dataio.prepare_utils import (
    audio_checks,
    csv_paths,
    prepare_once,
    write_checked_csv,
)

logger = logging.getLogger(__name__)

FIELDS = ["ID", "duration", "wav", "scenario", "action", "intent", "transcript"]
SPLITS = ("train", "devel", "test")
ANNOTATION_DIRS = ("slurp", os.path.join("dataset", "slurp"))
MICROPHONES = ("all", "headset", "farfield")


def prepare_slurp(
    data_folder,
    save_folder,
    splits=SPLITS,
    synthetic=False,
    microphones="all",
    sample_rate=16000,
    min_duration=None,
    max_duration=None,
    resample=False,
    skip_prep=False,
    progress=True,
):
    """Writes ``<save_folder>/<split>.csv`` for the SLURP splits.

    Arguments
    ---------
    data_folder : str
        The SLURP root, holding ``slurp/`` (or ``dataset/slurp/``) and
        ``slurp_real/``.
    save_folder : str
        Where the CSV, exclusion and options files go.
    splits : sequence of str
        Among ``train``, ``devel``, ``test``.
    synthetic : bool
        Also write ``train_synthetic.csv`` from ``train_synthetic.jsonl``
        and ``slurp_synth/``, if that jsonl file exists (a warning
        otherwise).
    microphones : str
        ``"all"`` recordings, only the ``"headset"`` ones
        (``*-headset.flac``) or only the ``"farfield"`` ones.
    sample_rate, min_duration, max_duration, resample, skip_prep, progress
        The options every preparation shares (see
        :mod:`~summary_ssl.dataio.prepare_utils`).

    Returns
    -------
    dict
        Split name -> CSV path.
    """
    if microphones not in MICROPHONES:
        raise ValueError(f"microphones must be one of {MICROPHONES}")
    annotations = _annotation_dir(data_folder)
    splits = list(splits)
    if synthetic:
        if os.path.isfile(os.path.join(annotations, "train_synthetic.jsonl")):
            splits.append("train_synthetic")
        else:
            logger.warning(
                "synthetic=True but %s is missing: no synthetic data",
                os.path.join(annotations, "train_synthetic.jsonl"),
            )
    outputs = csv_paths(save_folder, splits)
    if skip_prep:
        return outputs
    checks = audio_checks(sample_rate, min_duration, max_duration, resample)
    options = dict(
        checks,
        data_folder=os.path.abspath(data_folder),
        splits=splits,
        microphones=microphones,
    )

    def write():
        for split in splits:
            jsonl = require_path(
                os.path.join(annotations, f"{split}.jsonl"),
                f"SLURP {split} annotations",
            )
            audio = (
                "slurp_synth" if split.endswith("synthetic") else "slurp_real"
            )
            audio = os.path.join(data_folder, audio)
            items = _recordings(jsonl, audio, microphones, split)
            write_checked_csv(
                outputs[split],
                items,
                FIELDS,
                f"SLURP {split}",
                progress=progress,
                **checks,
            )

    return prepare_once(
        save_folder, outputs, options, "prepare_slurp", "SLURP CSV files", write
    )


def _annotation_dir(data_folder):
    """Returns the folder with the jsonl files, or raises naming it."""
    for sub in ANNOTATION_DIRS:
        folder = os.path.join(data_folder, sub)
        if os.path.isdir(folder):
            return folder
    expected = " or ".join(
        os.path.join(data_folder, s) for s in ANNOTATION_DIRS
    )
    raise FileNotFoundError(
        f"SLURP annotation folder not found: expected {expected}"
    )


def _recordings(jsonl, audio_dir, microphones, split):
    """Returns (audio path, fields) for every recording of a jsonl file."""
    prefix = "synth_" if split.endswith("synthetic") else ""
    items = []
    with open(jsonl, encoding="utf-8") as fin:
        for number, line in enumerate(fin, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{jsonl}:{number}: {err}") from err
            for k, recording in enumerate(entry["recordings"]):
                name = recording["file"]
                headset = name.endswith("-headset.flac")
                if microphones == "headset" and not headset:
                    continue
                if microphones == "farfield" and headset:
                    continue
                fields = {
                    "ID": f"{prefix}{entry['slurp_id']}_{k}",
                    "scenario": entry["scenario"],
                    "action": entry["action"],
                    "intent": entry["intent"],
                    "transcript": entry["sentence"],
                }
                items.append((os.path.join(audio_dir, name), fields))
    return items
