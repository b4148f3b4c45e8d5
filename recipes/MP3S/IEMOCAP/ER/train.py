#!/usr/bin/env python3
"""MP3S probe: IEMOCAP emotion recognition on a frozen encoder.

One run is one fold: by default MP3S's leave-one-speaker-out fold
(``split: speaker``, ``test_speaker`` 1 to 10), or a leave-one-session-out
fold (``split: session``, ``test_session``); the benchmark runner
(``../../run_benchmark.py --er_folds all``) runs every fold and averages
them. The frozen encoder's layers are mixed by learned
softmax weights and fed to a probe (mean pooling + linear, or a small
ECAPA-TDNN); the encoder never trains.

To run::

    python train.py hparams/linear.yaml --data_folder=/path/to/IEMOCAP \\
        --ssl_folder=/path/to/exported_encoder --test_speaker=1

Authors
 * summary_ssl contributors 2026
"""

import sys

from iemocap_prepare import prepare_iemocap

from summary_ssl.probes.classification import train_classifier
from summary_ssl.probes.data import prepare_on_main
from summary_ssl.probes.protocols import start_experiment


def split_speaker(hparams):
    """The test speaker of a leave-one-speaker-out fold, None for a
    leave-one-session-out fold."""
    if hparams["split"] == "speaker":
        return hparams["test_speaker"]
    if hparams["split"] == "session":
        return None
    raise ValueError(f"split must be speaker or session: {hparams['split']}")


def main(argv=None):
    """Prepares the fold, trains the probe, tests the best checkpoint."""
    hparams, run_opts = start_experiment(argv)
    prepare_kwargs = {
        "data_folder": hparams["data_folder"],
        "save_folder": hparams["save_folder"],
        "test_session": hparams["test_session"],
        "valid_session": hparams["valid_session"],
        "test_speaker": split_speaker(hparams),
        "sample_rate": hparams["sample_rate"],
        "skip_prep": hparams["skip_prep"],
    }
    csv_files = prepare_on_main(prepare_iemocap, prepare_kwargs)
    return train_classifier(
        hparams, run_opts, csv_files, hparams["label"], "label_encoder.txt"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
