#!/usr/bin/env python3
"""MP3S probe: SLURP intent or scenario classification on a frozen encoder.

The frozen encoder's layers are mixed by learned softmax weights and fed to
a probe (mean pooling + linear, or a BiLSTM); the encoder never trains.

To run::

    python train.py hparams/linear.yaml --data_folder=/path/to/SLURP \\
        --ssl_folder=/path/to/exported_encoder

Add ``--label=scenario`` for the 18-way task that SpeechBrain's MP3S calls
"IC", ``--features=fbank`` or ``--random_init=True`` for the baselines.

Authors
 * summary_ssl contributors 2026
"""

import os
import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from slurp_prepare import prepare_slurp

from summary_ssl.probes.brain import fit_probe
from summary_ssl.probes.classification import ClassifierProbeBrain
from summary_ssl.probes.data import (
    add_label_pipeline,
    csv_datasets,
    loader_options,
)

SPLITS = {"train": "train", "valid": "devel", "test": "test"}


def dataio_prepare(hparams, csv_files):
    """Datasets with ``sig`` and the chosen label; returns them and the
    label encoder."""
    datasets = csv_datasets(
        {name: csv_files[split] for name, split in SPLITS.items()},
        sorting=hparams["sorting"],
        sample_rate=hparams["sample_rate"],
    )
    encoder = add_label_pipeline(
        datasets,
        hparams["label"],
        hparams["label_encoder"],
        os.path.join(hparams["save_folder"], f"{hparams['label']}.txt"),
    )
    sb.dataio.dataset.set_output_keys(
        list(datasets.values()), ["id", "sig", "label_encoded"]
    )
    return datasets, encoder


def main(argv=None):
    """Prepares the data, trains the probe, tests the best checkpoint."""
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    if hparams["label"] not in ("intent", "scenario"):
        raise ValueError("label must be intent or scenario")
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    prepare_kwargs = {
        "data_folder": hparams["data_folder"],
        "save_folder": hparams["save_folder"],
        "splits": list(SPLITS.values()),
        "microphones": hparams["microphones"],
        "sample_rate": hparams["sample_rate"],
        "skip_prep": hparams["skip_prep"],
    }
    sb.utils.distributed.run_on_main(prepare_slurp, kwargs=prepare_kwargs)
    csv_files = prepare_slurp(**dict(prepare_kwargs, skip_prep=True))
    datasets, encoder = dataio_prepare(hparams, csv_files)

    brain = fit_probe(
        ClassifierProbeBrain, hparams, run_opts, datasets, len(encoder)
    )
    brain.evaluate(
        datasets["test"],
        min_key="error_rate",
        test_loader_kwargs=loader_options(hparams, "test"),
    )
    return brain


if __name__ == "__main__":
    main(sys.argv[1:])
