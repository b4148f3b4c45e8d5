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

import os
import sys

import speechbrain as sb
from iemocap_prepare import prepare_iemocap

from summary_ssl.probes.brain import fit_probe
from summary_ssl.probes.classification import (
    ClassifierProbeBrain,
    evaluate_classifier,
)
from summary_ssl.probes.data import (
    add_label_pipeline,
    csv_datasets,
)
from summary_ssl.probes.protocols import load_hparams


def dataio_prepare(hparams, csv_files):
    """Datasets with ``sig`` and the emotion; returns them and the label
    encoder."""
    datasets = csv_datasets(
        csv_files,
        sorting=hparams["sorting"],
        sample_rate=hparams["sample_rate"],
    )
    encoder = add_label_pipeline(
        datasets,
        hparams["label"],
        hparams["label_encoder"],
        os.path.join(hparams["save_folder"], "label_encoder.txt"),
    )
    sb.dataio.dataset.set_output_keys(
        list(datasets.values()), ["id", "sig", "label_encoded"]
    )
    return datasets, encoder


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
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    hparams, overrides = load_hparams(hparams_file, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    prepare_kwargs = {
        "data_folder": hparams["data_folder"],
        "save_folder": hparams["save_folder"],
        "test_session": hparams["test_session"],
        "valid_session": hparams["valid_session"],
        "test_speaker": split_speaker(hparams),
        "sample_rate": hparams["sample_rate"],
        "skip_prep": hparams["skip_prep"],
    }
    sb.utils.distributed.run_on_main(prepare_iemocap, kwargs=prepare_kwargs)
    csv_files = prepare_iemocap(**dict(prepare_kwargs, skip_prep=True))
    datasets, encoder = dataio_prepare(hparams, csv_files)

    brain = fit_probe(
        ClassifierProbeBrain, hparams, run_opts, datasets, len(encoder)
    )
    evaluate_classifier(brain, hparams, datasets)
    return brain


if __name__ == "__main__":
    main(sys.argv[1:])
