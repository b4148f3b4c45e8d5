#!/usr/bin/env python3
"""MP3S probe: SLURP scenario or intent classification on a frozen encoder.

The frozen encoder's layers are mixed by learned softmax weights and fed to
a probe (mean pooling + linear, or a BiLSTM); the encoder never trains.

To run::

    python train.py hparams/linear.yaml --data_folder=/path/to/SLURP \\
        --ssl_folder=/path/to/exported_encoder

The default ``label: scenario`` is the 18-way task that SpeechBrain's MP3S
calls "IC"; ``--label=intent`` classifies the intents. ``--features=fbank``
or ``--random_init=True`` run the baselines, ``--protocol=fast`` cheaper
settings. With ``--data_source=labelled_folder``, ``data_folder`` is any
``<label>/<file>`` folder (e.g. keyword recordings), split by
:func:`summary_ssl.dataio.labelled_folder.prepare_labelled_folder`.

Authors
 * summary_ssl contributors 2026
"""

import sys

from slurp_prepare import prepare_slurp

from summary_ssl.dataio.labelled_folder import prepare_labelled_folder
from summary_ssl.probes.classification import train_classifier
from summary_ssl.probes.data import prepare_on_main
from summary_ssl.probes.protocols import start_experiment

SPLITS = {"train": "train", "valid": "devel", "test": "test"}


def prepare(hparams):
    """Prepares the data; returns (split -> CSV path, label column)."""
    if hparams["data_source"] == "labelled_folder":
        prepare_fn, column = prepare_labelled_folder, "label"
        kwargs = {"split_ratio": hparams["split_ratio"]}
        names = {name: name for name in SPLITS}
    elif hparams["data_source"] == "slurp":
        if hparams["label"] not in ("intent", "scenario"):
            raise ValueError("label must be intent or scenario")
        prepare_fn, column = prepare_slurp, hparams["label"]
        kwargs = {
            "splits": list(SPLITS.values()),
            "microphones": hparams["microphones"],
        }
        names = SPLITS
    else:
        raise ValueError("data_source must be slurp or labelled_folder")
    kwargs.update(
        data_folder=hparams["data_folder"],
        save_folder=hparams["save_folder"],
        sample_rate=hparams["sample_rate"],
        skip_prep=hparams["skip_prep"],
    )
    csv_files = prepare_on_main(prepare_fn, kwargs)
    return {name: csv_files[split] for name, split in names.items()}, column


def main(argv=None):
    """Prepares the data, trains the probe, tests the best checkpoint."""
    hparams, run_opts = start_experiment(argv)
    csv_files, column = prepare(hparams)
    return train_classifier(
        hparams, run_opts, csv_files, column, f"{column}.txt"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
