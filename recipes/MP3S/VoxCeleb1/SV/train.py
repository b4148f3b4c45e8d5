#!/usr/bin/env python3
"""MP3S probe: VoxCeleb1 speaker verification on a frozen encoder.

The frozen encoder's layers are mixed by learned softmax weights and fed
to an x-vector or ECAPA-TDNN probe trained to classify the training
speakers (additive angular margin softmax); the encoder never trains. The
trials of ``veri_test2.txt`` are scored by the cosine similarity of the
embeddings: EER and minDCF.

To run::

    python train.py hparams/xvector.yaml --data_folder=/path/to/VoxCeleb1 \\
        --ssl_folder=/path/to/exported_encoder

Authors
 * summary_ssl contributors 2026
"""

import os
import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from voxceleb_prepare import prepare_voxceleb

from summary_ssl.dataio.prepare_utils import read_csv
from summary_ssl.probes.brain import fit_probe
from summary_ssl.probes.data import (
    add_label_pipeline,
    csv_datasets,
    loader_options,
)
from summary_ssl.probes.verification import SpeakerProbeBrain


def dataio_prepare(hparams, csv_files):
    """Training/validation datasets with speaker labels, the test
    utterances, the trials and the label encoder."""
    datasets = csv_datasets(
        {"train": csv_files["train"], "valid": csv_files["dev"]},
        sorting=hparams["sorting"],
        sample_rate=hparams["sample_rate"],
    )
    encoder = add_label_pipeline(
        datasets,
        "spk_id",
        hparams["label_encoder"],
        os.path.join(hparams["save_folder"], "speakers.txt"),
    )
    sb.dataio.dataset.set_output_keys(
        list(datasets.values()), ["id", "sig", "label_encoded"]
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
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    prepare_kwargs = {
        "data_folder": hparams["data_folder"],
        "save_folder": hparams["save_folder"],
        "verification_pairs_file": hparams["verification_file"],
        "dev_ratio": hparams["dev_ratio"],
        "seed": hparams["seed"],
        "sample_rate": hparams["sample_rate"],
        "skip_prep": hparams["skip_prep"],
    }
    sb.utils.distributed.run_on_main(prepare_voxceleb, kwargs=prepare_kwargs)
    csv_files = prepare_voxceleb(**dict(prepare_kwargs, skip_prep=True))
    datasets, test, trials, encoder = dataio_prepare(hparams, csv_files)

    brain = fit_probe(
        SpeakerProbeBrain, hparams, run_opts, datasets, len(encoder)
    )
    brain.verify(test, trials, loader_kwargs=loader_options(hparams, "test"))
    return brain


if __name__ == "__main__":
    main(sys.argv[1:])
