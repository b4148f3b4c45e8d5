"""The shared core of the pretraining recipes (wav2vec 2.0, S3LSpeech).

Each recipe's ``train.py`` is :func:`run_pretraining` with its Brain:
data preparation (LibriSpeech, any audio folder, or Libri-Light cut by
VAD, with counted exclusions) or streamed shards, datasets and dynamic
batching, the command line, training,
and the export of the encoder (the YAML's ``encoder_to_export``) for the
MP3S probes.

Authors
-------
* summary_ssl contributors 2026
"""

import os
import sys

import speechbrain as sb
import yaml
from speechbrain.dataio.dataio import merge_csvs
from speechbrain.dataio.sampler import DynamicBatchSampler
from speechbrain.utils.distributed import if_main_process, run_on_main

from summary_ssl.brains.hparams_keys import load_recipe_hparams
from summary_ssl.dataio.audio_folder import prepare_audio_folder
from summary_ssl.dataio.librilight import prepare_librilight
from summary_ssl.dataio.librispeech import prepare_librispeech
from summary_ssl.dataio.prepare_utils import read_csv_header, require_rows
from summary_ssl.dataio.readable_batches import (
    collate_readable,
    load_audio_or_empty,
)
from summary_ssl.dataio.shard_stream import ShardLoader, ShardStream
from summary_ssl.pretrained import export_encoder


def prepare_data(hparams):
    """Writes the CSV files under output_folder (main process).

    Returns
    -------
    tuple
        (train CSV path, or None when training streams shards; valid CSV
        path)
    """
    out = hparams["output_folder"]
    source = hparams["data_source"]
    common = dict(
        save_folder=out,
        min_duration=hparams["min_duration"],
        max_duration=hparams["max_duration"],
        sample_rate=hparams["sample_rate"],
        skip_prep=hparams["skip_prep"],
        decode=hparams["decode_check"],
    )
    sources = {}
    if source == "librispeech":
        sources.update(
            _prepare_librispeech(
                hparams,
                hparams["data_folder"],
                {
                    "train": hparams["train_splits"],
                    "valid": hparams["dev_splits"],
                },
                common,
            )
        )
    elif source == "librilight":
        subsets = list(hparams["librilight_subsets"])
        run_on_main(
            prepare_librilight,
            kwargs=dict(
                data_folder=hparams["data_folder"],
                subsets=subsets,
                csv_name="train.csv",
                target_len_sec=hparams["target_len_sec"],
                workers=hparams["num_workers"],
                **common,
            ),
        )
        sources["train"] = f"{hparams['data_folder']} ({', '.join(subsets)})"
        sources.update(
            _prepare_librispeech(
                hparams,
                hparams["valid_data_folder"],
                {"valid": hparams["dev_splits"]},
                common,
            )
        )
    else:  # folder, or shards (which need a valid folder only)
        names = ("valid",) if source == "shards" else ("train", "valid")
        for name in names:
            sources[name] = hparams[f"{name}_data_folder"]
            run_on_main(
                prepare_audio_folder,
                kwargs=dict(
                    data_folder=sources[name],
                    csv_name=f"{name}.csv",
                    resample=hparams["resample"],
                    **common,
                ),
            )
    csvs = {name: os.path.join(out, f"{name}.csv") for name in sources}
    for name, csv in csvs.items():
        require_rows(csv, sources[name])  # a clear error, before training
    return csvs.get("train"), csvs["valid"]


def _prepare_librispeech(hparams, data_folder, splits, common):
    """Prepares LibriSpeech splits and merges them into ``<name>.csv`` for
    each name of ``splits``; returns {name: description}."""
    out = hparams["output_folder"]
    run_on_main(
        prepare_librispeech,
        kwargs=dict(
            data_folder=data_folder,
            splits=[s for split_list in splits.values() for s in split_list],
            resample=hparams["resample"],
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
    return {
        name: f"{data_folder} ({', '.join(split_list)})"
        for name, split_list in splits.items()
    }


def _csv_dataset(csv, sample_rate):
    """A DynamicItemDataset of a prepared CSV that yields ``id``, ``sig``
    (whole files, or a Libri-Light row's spans)."""
    data = sb.dataio.dataset.DynamicItemDataset.from_csv(csv)
    spans = "spans" in read_csv_header(csv)

    @sb.utils.data_pipeline.takes("wav", "spans" if spans else "wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(wav, row_spans):
        # A file that went bad after preparation is dropped from its batch
        # (logged), instead of crashing the run mid-epoch.
        return load_audio_or_empty(
            wav,
            sample_rate=sample_rate,
            spans=row_spans if spans else None,
        )

    data.add_dynamic_item(audio_pipeline)
    data.set_output_keys(["id", "sig"])
    return data


def length_sampler(data, hparams, shuffle):
    """SpeechBrain's DynamicBatchSampler over a CSV dataset's durations."""
    return DynamicBatchSampler(
        data,
        max_batch_length=hparams["max_batch_length"],
        num_buckets=hparams["num_buckets"],
        length_func=lambda x: float(x["duration"]),
        shuffle=shuffle,
        batch_ordering="random" if shuffle else "descending",
    )


def dataio_prepare(hparams):
    """Datasets and their batching.

    Returns
    -------
    tuple
        ((train, valid), (train batch sampler, valid batch sampler)), where
        with ``data_source: shards`` train is a
        :class:`~summary_ssl.dataio.shard_stream.ShardLoader` (a
        DataLoader of dynamic batches) and its sampler is None.
    """
    train_csv, valid_csv = prepare_data(hparams)
    sample_rate = hparams["sample_rate"]
    valid = _csv_dataset(valid_csv, sample_rate)
    valid_sampler = length_sampler(valid, hparams, shuffle=False)
    if train_csv is None:
        stream = ShardStream(
            hparams["shard_folder"],
            max_batch_length=hparams["max_batch_length"],
            seed=hparams["seed"],
            shuffle_buffer=hparams["shuffle_buffer"],
            batch_buffer=hparams["batch_buffer"],
            min_duration=hparams["min_duration"],
            max_duration=hparams["max_duration"],
        )
        train = ShardLoader(stream, num_workers=hparams["num_workers"])
        return (train, valid), (None, valid_sampler)
    train = _csv_dataset(train_csv, sample_rate)
    train_sampler = length_sampler(train, hparams, shuffle=True)
    return (train, valid), (train_sampler, valid_sampler)


def resolve_overlay(hparams_file, overrides):
    r"""Follows an overlay YAML to the recipe YAML it adjusts.

    An overlay is a plain YAML file (no tags) whose ``base_hparams`` key
    names another recipe YAML, relative to the overlay; its other keys
    override that YAML's, and command-line overrides win over both. The
    Libri-Light recipes are such overlays of the LibriSpeech ones, so the
    model and training settings live in one file.

    Arguments
    ---------
    hparams_file : str
        The YAML given on the command line.
    overrides : str
        Command-line overrides (YAML text).

    Returns
    -------
    tuple
        (the YAML to load, the overrides to load it with)

    Example
    -------
    >>> import os
    >>> tmp = getfixture("tmp_path")
    >>> _ = (tmp / "base.yaml").write_text("a: 1\nb: 2\n")
    >>> _ = (tmp / "overlay.yaml").write_text("base_hparams: base.yaml\na: 3\n")
    >>> path, text = resolve_overlay(str(tmp / "overlay.yaml"), "b: 4")
    >>> os.path.basename(path), yaml.safe_load(text)
    ('base.yaml', {'a': 3, 'b': 4})
    """
    with open(hparams_file, encoding="utf-8") as fin:
        text = fin.read()
    if not any(line.startswith("base_hparams:") for line in text.splitlines()):
        return hparams_file, overrides
    overlay = yaml.safe_load(text)
    base = os.path.normpath(
        os.path.join(
            os.path.dirname(os.path.abspath(hparams_file)),
            overlay.pop("base_hparams"),
        )
    )
    if not os.path.isfile(base):
        raise FileNotFoundError(
            f"{hparams_file} names base_hparams {base}, which does not exist"
        )
    overlay.update(yaml.safe_load(overrides or "") or {})
    return base, yaml.safe_dump(overlay, sort_keys=False)


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


def recipe_yaml_and_overrides(hparams_file, run_opts, overrides):
    """The YAML to load and its overrides, from the command line's YAML
    (a recipe or an overlay), run options and overrides.

    Run options that are YAML keys (:func:`yaml_run_options`) become
    overrides of the base YAML first, then merge with an overlay's keys
    (the command line wins): a key set by both is then not a duplicate.
    """
    base, _ = resolve_overlay(hparams_file, "")
    overrides = yaml_run_options(base, run_opts, overrides)
    return resolve_overlay(hparams_file, overrides)


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
    hparams_file, overrides = recipe_yaml_and_overrides(
        hparams_file, run_opts, overrides
    )
    sb.utils.distributed.ddp_init_group(run_opts)
    hparams = load_recipe_hparams(hparams_file, overrides, brain_class)
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
    loader_kwargs = {"num_workers": workers, "collate_fn": collate_readable}
    train_loader_kwargs = dict(loader_kwargs, batch_sampler=train_sampler)
    if isinstance(train_data, ShardLoader):
        # Its consumed shards are part of a checkpoint (mid-epoch resume),
        # and fit's set_epoch reaches it as the "train sampler".
        hparams["checkpointer"].add_recoverable("shard_loader", train_data)
        brain.train_sampler = train_data
        train_loader_kwargs = {}
    brain.fit(
        brain.hparams.epoch_counter,
        train_data,
        valid_data,
        train_loader_kwargs=train_loader_kwargs,
        valid_loader_kwargs=dict(loader_kwargs, batch_sampler=valid_sampler),
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
