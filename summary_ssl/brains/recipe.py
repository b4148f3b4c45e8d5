"""The shared core of the pretraining recipes (wav2vec 2.0, S3LSpeech).

Each recipe's ``train.py`` is :func:`run_pretraining` with its Brain:
data preparation (LibriSpeech or any audio folder, with counted
exclusions), datasets and dynamic batching, the command line, training,
and the export of the encoder (the YAML's ``encoder_to_export``) for the
MP3S probes.

Authors
-------
* summary_ssl contributors 2026
"""

import os
import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.dataio import merge_csvs
from speechbrain.dataio.sampler import DynamicBatchSampler
from speechbrain.utils.distributed import if_main_process, run_on_main

from summary_ssl.brains.hparams_checks import check_pretraining_hparams
from summary_ssl.dataio.audio_folder import prepare_audio_folder
from summary_ssl.dataio.librispeech import prepare_librispeech
from summary_ssl.dataio.prepare_utils import require_rows
from summary_ssl.dataio.readable_batches import (
    collate_readable,
    load_audio_or_empty,
)
from summary_ssl.pretrained import export_encoder


def prepare_data(hparams):
    """Writes train.csv and valid.csv under output_folder (main process)."""
    out = hparams["output_folder"]
    common = dict(
        save_folder=out,
        min_duration=hparams["min_duration"],
        max_duration=hparams["max_duration"],
        sample_rate=hparams["sample_rate"],
        resample=hparams["resample"],
        skip_prep=hparams["skip_prep"],
        decode=hparams["decode_check"],
    )
    if hparams["data_source"] == "librispeech":
        splits = {
            "train": hparams["train_splits"],
            "valid": hparams["dev_splits"],
        }
        run_on_main(
            prepare_librispeech,
            kwargs=dict(
                data_folder=hparams["data_folder"],
                splits=splits["train"] + splits["valid"],
                **common,
            ),
        )
        for name, split_list in splits.items():
            run_on_main(
                merge_csvs,
                kwargs=dict(
                    data_folder=out,
                    csv_lst=[f"{split}.csv" for split in split_list],
                    merged_csv=f"{name}.csv",
                ),
            )
        sources = {
            name: f"{hparams['data_folder']} ({', '.join(split_list)})"
            for name, split_list in splits.items()
        }
    else:  # any folder of audio files, e.g. Libri-Light after VAD
        sources = {}
        for name in ("train", "valid"):
            sources[name] = hparams[f"{name}_data_folder"]
            run_on_main(
                prepare_audio_folder,
                kwargs=dict(
                    data_folder=sources[name],
                    csv_name=f"{name}.csv",
                    **common,
                ),
            )
    csvs = {name: os.path.join(out, f"{name}.csv") for name in sources}
    for name, csv in csvs.items():
        require_rows(csv, sources[name])  # a clear error, before training
    return csvs["train"], csvs["valid"]


def dataio_prepare(hparams):
    """Datasets and dynamic batch samplers."""
    train_csv, valid_csv = prepare_data(hparams)
    sample_rate = hparams["sample_rate"]

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(wav):
        # A file that went bad after preparation is dropped from its batch
        # (logged), instead of crashing the run mid-epoch.
        return load_audio_or_empty(wav, sample_rate=sample_rate)

    datasets = []
    for csv in (train_csv, valid_csv):
        data = sb.dataio.dataset.DynamicItemDataset.from_csv(csv)
        data.add_dynamic_item(audio_pipeline)
        data.set_output_keys(["id", "sig"])
        datasets.append(data)
    samplers = [
        DynamicBatchSampler(
            data,
            max_batch_length=hparams["max_batch_length"],
            num_buckets=hparams["num_buckets"],
            length_func=lambda x: float(x["duration"]),
            shuffle=shuffle,
            batch_ordering="random" if shuffle else "descending",
        )
        for data, shuffle in zip(datasets, (True, False))
    ]
    return datasets, samplers


def yaml_run_options(hparams_file, run_opts, overrides):
    """Moves command-line run options that are also top-level YAML keys
    (``--precision``, ``--optimizer_step_limit``, ...) into the YAML
    overrides.

    SpeechBrain's ``parse_arguments`` keeps them out of the overrides, so
    YAML entries that ``!ref`` them (the LR schedule's length refers to
    ``optimizer_step_limit``) would silently keep the file's value, and
    it leaves some of them as strings. Taking them from the loaded YAML
    makes both agree and typed.
    """
    with open(hparams_file, encoding="utf-8") as f:
        keys = {
            line.split(":", 1)[0]
            for line in f
            if line[:1].isalpha() and ":" in line
        }
    extra = []
    for arg in sorted(run_opts.overridden_args & keys):
        extra.append(f"{arg}: {run_opts[arg]}")
        run_opts.overridden_args.discard(arg)
    return "\n".join(filter(None, [overrides] + extra))


def run_pretraining(brain_class, argv=None):
    """Runs a pretraining recipe; returns the Brain (for tests).

    Arguments
    ---------
    brain_class : type
        A :class:`~summary_ssl.brains.pretraining.PretrainingBrain`.
    argv : list of str, optional
        Command line (default ``sys.argv[1:]``): the YAML, then
        SpeechBrain's options and overrides.

    Returns
    -------
    summary_ssl.brains.pretraining.PretrainingBrain
    """
    hparams_file, run_opts, overrides = sb.parse_arguments(
        sys.argv[1:] if argv is None else argv
    )
    overrides = yaml_run_options(hparams_file, run_opts, overrides)
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    check_pretraining_hparams(hparams)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    (train_data, valid_data), (train_sampler, valid_sampler) = dataio_prepare(
        hparams
    )
    brain = brain_class(
        modules=hparams["modules"],
        opt_class=hparams["optimizer"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    workers = hparams["num_workers"]
    brain.fit(
        brain.hparams.epoch_counter,
        train_data,
        valid_data,
        train_loader_kwargs={
            "batch_sampler": train_sampler,
            "num_workers": workers,
            "collate_fn": collate_readable,
        },
        valid_loader_kwargs={
            "batch_sampler": valid_sampler,
            "num_workers": workers,
            "collate_fn": collate_readable,
        },
    )
    if if_main_process():
        # The YAML's module: the one DDP wraps (trained in place).
        model = hparams["encoder_to_export"]
        export_encoder(
            model,
            hparams["export_folder"],
            meta={
                "optimizer_step": brain.optimizer_step,
                "hparams_file": os.path.abspath(hparams_file),
                "overrides": overrides,
                "parameters": sum(p.numel() for p in model.parameters()),
            },
        )
    return brain
