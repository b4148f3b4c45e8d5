#!/usr/bin/env python3
"""MP3S probe: VoxCeleb1 speaker verification on a frozen encoder.

The frozen encoder's layers are mixed by learned softmax weights and fed
to an x-vector or ECAPA-TDNN probe trained to classify the training
speakers (additive angular margin softmax) on random 3-second crops; the
encoder never trains. The trials of ``veri_test2.txt`` are scored by the
cosine similarity of the embeddings of the whole utterances: EER and
minDCF.

To run::

    python train.py hparams/xvector.yaml --data_folder=/path/to/VoxCeleb1 \\
        --ssl_folder=/path/to/exported_encoder

With ``--data_source=speaker_folder``, ``data_folder`` holds the test
speakers (every pair of their files is a trial) and ``train_folder`` the
training speakers, in ``<speaker>/<file>`` folders or LibriSpeech-named
files (see :mod:`summary_ssl.dataio.speaker_folder`).

Authors
 * summary_ssl contributors 2026
"""

import os
import sys

import speechbrain as sb
from voxceleb_prepare import prepare_voxceleb

from summary_ssl.dataio.prepare_utils import read_csv, write_csv
from summary_ssl.dataio.speaker_folder import prepare_speaker_folder
from summary_ssl.probes.brain import fit_probe
from summary_ssl.probes.data import (
    csv_datasets,
    labelled_datasets,
    loader_options,
    prepare_on_main,
)
from summary_ssl.probes.protocols import start_experiment
from summary_ssl.probes.verification import SpeakerProbeBrain


def prepare(hparams):
    """Prepares the data; returns ``train``, ``dev``, ``test`` and
    ``trials`` CSV paths."""
    kwargs = {
        "data_folder": hparams["data_folder"],
        "save_folder": hparams["save_folder"],
        "sample_rate": hparams["sample_rate"],
        "skip_prep": hparams["skip_prep"],
    }
    if hparams["data_source"] == "voxceleb":
        prepare_fn = prepare_voxceleb
        kwargs.update(
            verification_pairs_file=hparams["verification_file"],
            dev_ratio=hparams["dev_ratio"],
            seed=hparams["seed"],
        )
    elif hparams["data_source"] == "speaker_folder":
        if not hparams["train_folder"]:
            raise ValueError("data_source speaker_folder needs train_folder")
        prepare_fn = prepare_speaker_folder
        kwargs.update(train_folder=hparams["train_folder"])
    else:
        raise ValueError("data_source must be voxceleb or speaker_folder")
    return prepare_on_main(prepare_fn, kwargs)


def segment_rows(csv_path, seconds, save_folder):
    """MP3S's training epoch: one row per whole ``seconds`` of each
    utterance (at least one), each read as its own random crop.

    Arguments
    ---------
    csv_path : str
        The training CSV.
    seconds : float
        The crop length.
    save_folder : str
        Where the expanded CSV goes.

    Returns
    -------
    str
        The expanded CSV (IDs ``<id>@<k>``).
    """
    rows = []
    for row in read_csv(csv_path):
        duration = float(row["duration"])
        for k in range(max(1, int(duration // seconds))):
            rows.append(dict(row, ID=f"{row['ID']}@{k}", duration=duration))
    path = os.path.join(save_folder, "train_segments.csv")
    sb.utils.distributed.run_on_main(
        write_csv, args=[path, rows, list(rows[0]) if rows else ["ID"]]
    )
    return path


def dataio_prepare(hparams, csv_files):
    """Training/validation datasets with speaker labels, the test
    utterances, the trials and the label encoder."""
    train_csv = csv_files["train"]
    if hparams["train_segments"]:
        train_csv = segment_rows(
            train_csv, hparams["crop_seconds"], hparams["save_folder"]
        )
    crop = hparams["crop_seconds"] if hparams["crop_waveform"] else None
    datasets, encoder = labelled_datasets(
        hparams,
        {"train": train_csv, "valid": csv_files["dev"]},
        "spk_id",
        "speakers.txt",
        crop_seconds=crop,
        crop_splits=("train", "valid"),
    )
    test = csv_datasets(
        {"test": csv_files["test"]}, sample_rate=hparams["sample_rate"]
    )["test"]
    test.set_output_keys(["id", "sig"])
    trials = [
        (int(row["label"]), row["enrol"], row["test"])
        for row in read_csv(csv_files["trials"])
    ]
    return datasets, test, trials, encoder


def main(argv=None):
    """Prepares the data, trains the probe, scores the trials."""
    hparams, run_opts = start_experiment(argv)
    csv_files = prepare(hparams)
    datasets, test, trials, encoder = dataio_prepare(hparams, csv_files)

    brain = fit_probe(
        SpeakerProbeBrain, hparams, run_opts, datasets, len(encoder)
    )
    brain.verify(test, trials, loader_kwargs=loader_options(hparams, "test"))
    return brain


if __name__ == "__main__":
    main(sys.argv[1:])
