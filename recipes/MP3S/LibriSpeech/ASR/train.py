#!/usr/bin/env python3
"""MP3S probe: LibriSpeech character CTC recognition on a frozen encoder.

The frozen encoder's layers are mixed by learned softmax weights and fed
to a probe (a 2-layer BiLSTM, or a single linear layer) trained with CTC
over characters; the encoder never trains. Validation decodes greedily;
each test set (``test_splits``: test-clean and test-other) is decoded with
``test_decoder`` (MP3S: a CTC beam search, beam 143, no language model):
WER and CER per test set.

To run::

    python train.py hparams/bilstm_ctc.yaml \\
        --data_folder=/path/to/LibriSpeech \\
        --ssl_folder=/path/to/exported_encoder

Authors
 * summary_ssl contributors 2026
"""

import os
import sys

import speechbrain as sb
from librispeech_prepare import prepare_librispeech
from speechbrain.dataio.dataio import merge_csvs

from summary_ssl.probes.asr import CTCProbeBrain
from summary_ssl.probes.brain import fit_probe
from summary_ssl.probes.data import (
    csv_datasets,
    loader_options,
    prepare_on_main,
)
from summary_ssl.probes.protocols import start_experiment


def train_csv(hparams, csv_files):
    """The training CSV (the train splits merged if there are several)."""
    paths = [csv_files[s] for s in hparams["train_splits"]]
    if len(paths) == 1:
        return paths[0]
    merged = "train.csv"
    sb.utils.distributed.run_on_main(
        merge_csvs,
        kwargs={
            "data_folder": hparams["save_folder"],
            "csv_lst": [os.path.basename(p) for p in paths],
            "merged_csv": merged,
        },
    )
    return os.path.join(hparams["save_folder"], merged)


def dataio_prepare(hparams, csv_files):
    """Datasets with ``sig``, ``wrd`` and ``tokens`` (characters); returns
    them and the character encoder (blank at ``blank_index``)."""
    datasets = csv_datasets(
        dict(
            {
                "train": train_csv(hparams, csv_files),
                "valid": csv_files[hparams["dev_split"]],
            },
            **{split: csv_files[split] for split in hparams["test_splits"]},
        ),
        sorting=hparams["sorting"],
        sample_rate=hparams["sample_rate"],
    )
    tokenizer = hparams["tokenizer"]

    @sb.utils.data_pipeline.takes("wrd")
    @sb.utils.data_pipeline.provides("char_list", "tokens")
    def text_pipeline(wrd):
        char_list = list(wrd)
        yield char_list
        yield tokenizer.encode_sequence_torch(char_list)

    sb.dataio.dataset.add_dynamic_item(list(datasets.values()), text_pipeline)
    # Characters of every split: a test character unseen in training is an
    # error, not a crash.
    tokenizer.load_or_create(
        path=os.path.join(hparams["save_folder"], "tokenizer.txt"),
        from_didatasets=list(datasets.values()),
        output_key="char_list",
        sequence_input=True,
        special_labels={"blank_label": hparams["blank_index"]},
    )
    sb.dataio.dataset.set_output_keys(
        list(datasets.values()), ["id", "sig", "wrd", "tokens"]
    )
    return datasets, tokenizer


def main(argv=None):
    """Prepares the data, trains the probe, tests the best checkpoint."""
    hparams, run_opts = start_experiment(argv)
    splits = list(hparams["train_splits"])
    splits += [hparams["dev_split"]] + list(hparams["test_splits"])
    prepare_kwargs = {
        "data_folder": hparams["data_folder"],
        "save_folder": hparams["save_folder"],
        "splits": splits,
        "sample_rate": hparams["sample_rate"],
        "skip_prep": hparams["skip_prep"],
    }
    csv_files = prepare_on_main(prepare_librispeech, prepare_kwargs)
    datasets, tokenizer = dataio_prepare(hparams, csv_files)

    brain = fit_probe(
        CTCProbeBrain,
        hparams,
        run_opts,
        datasets,
        len(tokenizer),
        tokenizer=tokenizer,
    )
    for split in hparams["test_splits"]:
        brain.test_name = split
        brain.evaluate(
            datasets[split],
            min_key="WER",
            test_loader_kwargs=loader_options(hparams, "test"),
        )
    metrics = {}
    for split, stats in brain.test_metrics.items():
        metrics.update({f"{key} {split}": v for key, v in stats.items()})
    first = brain.test_metrics[hparams["test_splits"][0]]
    brain.write_metrics(
        dict(metrics, **first),
        extra={"test_decoder": hparams["test_decoder"]},
    )
    return brain


if __name__ == "__main__":
    main(sys.argv[1:])
