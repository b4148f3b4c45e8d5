"""Datasets for the probe recipes: CSV files, audio and label pipelines.

The CSV files come from the preparations in :mod:`summary_ssl.dataio`
(absolute ``wav`` paths, a ``duration`` column); audio is read with
:func:`summary_ssl.dataio.audio_checks.load_audio`.

Authors
-------
* summary_ssl contributors 2026
"""

import logging
import os
import random

import speechbrain as sb
from speechbrain.dataio.dataset import DynamicItemDataset

from summary_ssl.dataio.audio_checks import load_audio

logger = logging.getLogger(__name__)

SORTINGS = ("random", "ascending", "descending")


def audio_pipeline(sample_rate=16000, segments=False, crop_seconds=None):
    """A dynamic item that reads ``wav`` into ``sig``.

    Arguments
    ---------
    sample_rate : int
        Rate the audio is loaded at (resampled if needed).
    segments : bool
        The CSV has ``start`` and ``stop`` columns (seconds): read only
        that segment of the file.
    crop_seconds : float, optional
        Read a random window of this length (Python's ``random``, seeded
        by SpeechBrain), as MP3S's VoxCeleb recipe does before its SSL
        model; shorter utterances are read whole.

    Returns
    -------
    speechbrain.utils.data_pipeline.DynamicItem
    """

    def read(wav, begin, end):
        if crop_seconds and end - begin > crop_seconds:
            begin = random.uniform(begin, end - crop_seconds)
            end = begin + crop_seconds
        elif not segments:
            return load_audio(wav, sample_rate)
        return load_audio(wav, sample_rate, begin, end)

    if segments:

        @sb.utils.data_pipeline.takes("wav", "start", "stop")
        @sb.utils.data_pipeline.provides("sig")
        def read_segment(wav, start, stop):
            return read(wav, float(start), float(stop))

        return read_segment

    @sb.utils.data_pipeline.takes("wav", "duration")
    @sb.utils.data_pipeline.provides("sig")
    def read_file(wav, duration):
        return read(wav, 0.0, float(duration))

    return read_file


def csv_datasets(
    csv_files,
    sorting="random",
    sample_rate=16000,
    crop_seconds=None,
    crop_splits=("train",),
):
    """Loads CSV files as datasets that provide ``id`` and ``sig``.

    Arguments
    ---------
    csv_files : dict
        Split name -> CSV path. The split ``train`` is sorted by duration
        when ``sorting`` says so (other splits are always sorted
        ascending, which batches similar lengths together). A CSV with
        ``start`` and ``stop`` columns lists segments (seconds).
    sorting : str
        ``random`` (shuffled every epoch), ``ascending`` or ``descending``.
    sample_rate : int
        Rate the audio is loaded at.
    crop_seconds : float, optional
        Random crops of this length for the splits in ``crop_splits``.
    crop_splits : sequence of str
        The splits that are cropped.

    Returns
    -------
    dict
        Split name -> ``DynamicItemDataset``.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile as sf
    >>> from speechbrain.dataio.encoder import CategoricalEncoder
    >>> tmp = tempfile.mkdtemp()
    >>> sf.write(os.path.join(tmp, "a.wav"), np.zeros(800), 16000)
    >>> with open(os.path.join(tmp, "x.csv"), "w") as f:
    ...     _ = f.write(f"ID,duration,wav,emo\\nu1,0.05,{tmp}/a.wav,sad\\n")
    >>> data = csv_datasets({"train": os.path.join(tmp, "x.csv")})
    >>> encoder = add_label_pipeline(
    ...     data, "emo", CategoricalEncoder(), os.path.join(tmp, "l.txt"))
    >>> data["train"].set_output_keys(["id", "sig", "label_encoded"])
    >>> item = data["train"][0]
    >>> item["id"], item["sig"].shape, item["label_encoded"].tolist()
    ('u1', torch.Size([800]), [0])
    >>> data = csv_datasets({"train": os.path.join(tmp, "x.csv")},
    ...                     crop_seconds=0.02)
    >>> data["train"].set_output_keys(["sig"])
    >>> data["train"][0]["sig"].shape
    torch.Size([320])
    """
    if sorting not in SORTINGS:
        raise ValueError(f"sorting must be one of {SORTINGS}, not {sorting}")
    datasets = {}
    for name, path in csv_files.items():
        with open(path, encoding="utf-8") as f:
            if sum(1 for line in f if line.strip()) < 2:
                raise ValueError(f"{path} holds no utterance ({name} split)")
        data = DynamicItemDataset.from_csv(csv_path=path)
        columns = set(next(iter(data.data.values())))
        segments = {"start", "stop"} <= columns
        if name != "train":
            data = data.filtered_sorted(sort_key="duration")
        elif sorting != "random":
            data = data.filtered_sorted(
                sort_key="duration", reverse=sorting == "descending"
            )
        crop = crop_seconds if name in crop_splits else None
        data.add_dynamic_item(audio_pipeline(sample_rate, segments, crop))
        datasets[name] = data
    return datasets


def add_label_pipeline(datasets, key, encoder, path):
    """Adds ``label`` (the CSV column ``key``) and ``label_encoded``.

    The encoder is loaded from ``path`` or built from every split's labels
    and saved there (DDP-safe). Building from every split means that an
    evaluation label unseen in training is a wrong answer, not a crash.

    Arguments
    ---------
    datasets : dict
        Split name -> dataset.
    key : str
        CSV column with the label.
    encoder : speechbrain.dataio.encoder.CategoricalEncoder
        The encoder to fill.
    path : str
        Where the encoder is saved.

    Returns
    -------
    speechbrain.dataio.encoder.CategoricalEncoder
    """

    @sb.utils.data_pipeline.takes(key)
    @sb.utils.data_pipeline.provides("label", "label_encoded")
    def label_pipeline(value):
        yield value
        yield encoder.encode_sequence_torch([value])

    encoder.load_or_create(
        path, from_didatasets=list(datasets.values()), output_key=key
    )
    # The probe's output size is checked against len(encoder) instead
    # (summary_ssl.probes.brain.build_probe).
    encoder.ignore_len()
    sb.dataio.dataset.add_dynamic_item(list(datasets.values()), label_pipeline)
    return encoder


def prepare_on_main(prepare_fn, kwargs):
    """Runs a preparation of :mod:`summary_ssl.dataio` with ``kwargs`` on
    the main process only; returns its CSV files on every process."""
    sb.utils.distributed.run_on_main(prepare_fn, kwargs=kwargs)
    return prepare_fn(**dict(kwargs, skip_prep=True))


def labelled_datasets(hparams, csv_files, column, encoder_file, **options):
    """Datasets of a classification recipe (:func:`csv_datasets` with
    ``options``) giving ``id``, ``sig`` and ``label_encoded`` (CSV column
    ``column``), and their label encoder (``hparams["label_encoder"]``,
    saved as ``encoder_file`` under ``save_folder``)."""
    datasets = csv_datasets(
        csv_files,
        sorting=hparams["sorting"],
        sample_rate=hparams["sample_rate"],
        **options,
    )
    encoder = add_label_pipeline(
        datasets,
        column,
        hparams["label_encoder"],
        os.path.join(hparams["save_folder"], encoder_file),
    )
    sb.dataio.dataset.set_output_keys(
        list(datasets.values()), ["id", "sig", "label_encoded"]
    )
    return datasets, encoder


def loader_options(hparams, split):
    """DataLoader options of a split from the usual hparams keys.

    ``batch_size`` (``eval_batch_size`` for validation and test, then
    ``test_batch_size`` for test, when not null), ``num_workers`` and, for
    ``train``, shuffling when ``sorting`` is ``random``.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters.
    split : str
        ``train``, ``valid`` or ``test``.

    Returns
    -------
    dict

    Example
    -------
    >>> hparams = {"batch_size": 4, "eval_batch_size": None,
    ...            "test_batch_size": None, "num_workers": 0,
    ...            "sorting": "random"}
    >>> loader_options(hparams, "train")
    {'batch_size': 4, 'num_workers': 0, 'shuffle': True}
    >>> loader_options(dict(hparams, eval_batch_size=8), "test")
    {'batch_size': 8, 'num_workers': 0, 'shuffle': False}
    >>> loader_options(dict(hparams, test_batch_size=1), "test")
    {'batch_size': 1, 'num_workers': 0, 'shuffle': False}
    """
    batch_size = hparams["batch_size"]
    if split != "train":
        batch_size = hparams["eval_batch_size"] or batch_size
    if split == "test":
        batch_size = hparams["test_batch_size"] or batch_size
    shuffle = split == "train" and hparams["sorting"] == "random"
    return {
        "batch_size": batch_size,
        "num_workers": hparams["num_workers"],
        "shuffle": shuffle,
    }
