"""ProbeBrain: what every MP3S probe recipe shares.

Expected ``modules``:

* ``extractor``: a frozen :class:`~summary_ssl.probes.features.
  FrozenFeatures` (never trained, never checkpointed: it has no trainable
  parameter, so SpeechBrain does not wrap it in DDP either);
* ``layer_sum``: a :class:`~summary_ssl.pretrained.WeightedLayerSum`;
* ``probe``: the task's head, built by :func:`build_probe` once the
  data says how many outputs it needs.

Expected ``hparams``, each read without a default (declared by the YAML
or by :data:`~summary_ssl.probes.protocols.PROBE_DEFAULTS`):
``output_folder``, ``ssl_folder``, ``protocol``, ``number_of_epochs``,
``features``, ``random_init``, ``cache_features`` and ``feature_cache``,
``lr_annealing`` (a SpeechBrain scheduler), ``train_logger``,
``weights_opt_class`` and ``lr_annealing_weights`` (the layer weights' own
optimizer and scheduler, as MP3S: Adam at 0.01, NewBob 0.9; null: the
probe's optimizer, a constant rate), ``annealing_metric`` (what NewBob
watches: ``loss`` or e.g. ``error_rate``), ``standardize_utterances`` (the
training utterances of the standardisation statistics; null: all) and
``crop_waveform`` (random waveform crops before the encoder in training
and validation, whose features are then never cached).

What it adds to ``speechbrain.core.Brain``:

* :meth:`compute_features`: frozen features (from the cache when
  ``cache_features``) mixed by the learned layer weights;
* one optimizer for the probe and one for the layer weights, the frozen
  encoder left out;
* the layer sum's standardisation statistics, from the training set,
  before the first epoch (:mod:`summary_ssl.probes.standardize`);
* :meth:`end_of_validation`: LR annealing, logging, best-checkpoint
  bookkeeping on the task metric;
* :meth:`write_metrics`: ``<output_folder>/metrics.json`` with the test
  metrics and the learned layer weights, read by ``run_benchmark.py``.

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import os

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.nnet.schedulers import NewBobScheduler
from speechbrain.utils.distributed import if_main_process

from summary_ssl.probes.cache import FeatureCache, SkipCachedAudio
from summary_ssl.probes.data import loader_options
from summary_ssl.probes.standardize import LayerStatistics

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
#: The fold of a run, written to its metrics where the YAML has it.
FOLD_KEYS = ("test_session", "test_speaker", "split")


def unwrap(module):
    """The module inside a DDP/DP wrapper (or the module itself)."""
    return getattr(module, "module", module)


class ProbeBrain(sb.core.Brain):
    """Base Brain for probes on frozen features (see the module docstring).

    Subclasses implement ``compute_forward``, ``compute_objectives`` and
    ``on_stage_end`` as usual, calling :meth:`compute_features`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.feature_cache = None
        self.weights_optimizer = None
        self._train_data = None
        if self.hparams.cache_features:
            self.feature_cache = FeatureCache(
                self.hparams.feature_cache,
                self.modules.extractor.fingerprint(),
            )
            logger.info(f"Feature cache: {self.feature_cache.folder}")

    def compute_features(self, batch, stage=None):
        """The probe input of a batch.

        Arguments
        ---------
        batch : speechbrain.dataio.batch.PaddedBatch
            With ``id`` and ``sig`` (waveforms and relative lengths).
        stage : speechbrain.Stage, optional
            The stage (training and validation batches are not cached when
            ``crop_waveform`` is set).

        Returns
        -------
        feats : torch.Tensor
            (B, T, D) mixed layers, zero on padded frames.
        lens : torch.Tensor
            (B,) relative lengths in frames.
        """
        hidden, lens = self.frozen_features(batch, stage)
        return self.modules.layer_sum(hidden, lens), lens

    def uses_cache(self, stage):
        """Whether the features of a stage come from the cache."""
        return self.feature_cache is not None and not (
            self.hparams.crop_waveform
            and stage in (sb.Stage.TRAIN, sb.Stage.VALID)
        )

    def frozen_features(self, batch, stage=None):
        """The frozen ``(L, B, T, D)`` layers of a batch and their lengths,
        from the cache when there is one."""
        wavs, wav_lens = batch.sig
        if not self.uses_cache(stage):
            return self.modules.extractor(wavs, wav_lens)
        return self._cached_features(batch.id, wavs, wav_lens)

    def make_dataloader(self, dataset, stage, *args, **loader_kwargs):
        """``Brain.make_dataloader``; with the cache, the audio of cached
        utterances is not read (:class:`~summary_ssl.probes.cache.
        SkipCachedAudio`)."""
        if self.uses_cache(stage) and isinstance(dataset, DynamicItemDataset):
            loader_kwargs.setdefault("collate_fn", PaddedBatch)
            dataset = SkipCachedAudio(dataset, self.feature_cache)
        return super().make_dataloader(dataset, stage, *args, **loader_kwargs)

    def _cached_features(self, ids, wavs, wav_lens):
        """Runs the frozen extractor on batches with uncached utterances,
        then reads the whole batch from the cache (so every epoch sees the
        same stored values)."""
        missing = set(self.feature_cache.missing(ids))
        if missing:
            hidden, lens = self.modules.extractor(wavs, wav_lens)
            keep = [i for i, u in enumerate(ids) if u in missing]
            self.feature_cache.save(
                [ids[i] for i in keep], hidden[:, keep], lens[keep]
            )
        return self.feature_cache.load(ids, self.device)

    def fit(self, epoch_counter, train_set, *args, **kwargs):
        """``Brain.fit``; keeps the training data for the statistics."""
        self._train_data = (train_set, kwargs.get("train_loader_kwargs", {}))
        return super().fit(epoch_counter, train_set, *args, **kwargs)

    def on_fit_start(self):
        """Optimizers, checkpoint recovery, then (if a fresh run needs
        them) the standardisation statistics of the layer sum."""
        super().on_fit_start()
        layer_sum = unwrap(self.modules.layer_sum)
        if layer_sum.needs_statistics() and self._train_data is not None:
            self.standardize_from(*self._train_data)

    @torch.no_grad()
    def standardize_from(self, dataset, loader_kwargs=None):
        """Sets the layer sum's statistics from (part of) a dataset.

        Arguments
        ---------
        dataset : speechbrain.dataio.dataset.DynamicItemDataset
            The training set.
        loader_kwargs : dict, optional
            Its DataLoader options.
        """
        layer_sum = unwrap(self.modules.layer_sum)
        limit = self.hparams.standardize_utterances
        loader = dataset
        if not isinstance(dataset, torch.utils.data.DataLoader):
            loader = self.make_dataloader(
                dataset,
                sb.Stage.TRAIN,
                ckpt_prefix=None,
                **(loader_kwargs or {}),
            )
        stats = LayerStatistics(layer_sum.standardize, layer_sum.whiten)
        seen = 0
        for batch in loader:
            batch = batch.to(self.device)
            hidden, lens = self.frozen_features(batch, sb.Stage.TRAIN)
            stats.update(hidden, lens)
            seen += len(batch.id)
            if limit is not None and seen >= limit:
                break
        stats.all_reduce()
        results = stats.result(
            layer_sum.shrinkage if layer_sum.whiten else None
        )
        layer_sum.set_statistics(*(r.to(self.device) for r in results))
        logger.info(
            f"{'Whitening' if layer_sum.whiten else 'Standardisation'} "
            f"statistics ({layer_sum.standardize} level) "
            f"from {seen} training utterances ({stats.count} "
            f"{layer_sum.standardize}s)"
        )

    def init_optimizers(self):
        """The probe's optimizer (``opt_class``) and, with
        ``weights_opt_class``, the layer weights' own; the frozen encoder
        is left out."""
        if self.opt_class is None:
            return super().init_optimizers()
        weights_opt_class = self.hparams.weights_opt_class
        own = weights_opt_class is not None
        layer_weights = list(self.modules.layer_sum.parameters())
        exclude = {id(p) for p in layer_weights} if own else set()
        params = [
            p
            for p in self.modules.parameters()
            if p.requires_grad and id(p) not in exclude
        ]
        self.optimizer = self.opt_class(params)
        self.optimizers_dict = {"opt_class": self.optimizer}
        if own:
            self.weights_optimizer = weights_opt_class(layer_weights)
            self.optimizers_dict["weights_opt_class"] = self.weights_optimizer
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)
            if own:
                self.checkpointer.add_recoverable(
                    "weights_optimizer", self.weights_optimizer
                )

    def layer_weights(self):
        """The learned softmax layer weights, as a list."""
        layer_sum = unwrap(self.modules.layer_sum)
        return [round(w, 6) for w in layer_sum.layer_weights().tolist()]

    def _anneal(self, scheduler, optimizer, epoch, valid_stats):
        """Steps one scheduler: NewBob on the validation statistic
        ``annealing_metric``, any other (e.g. ``LinearScheduler``) on the
        epoch. Returns the learning rate the epoch used."""
        if isinstance(scheduler, NewBobScheduler):
            metric = valid_stats[self.hparams.annealing_metric]
            old_lr, new_lr = scheduler(metric)
        else:
            old_lr, new_lr = scheduler(epoch)
        sb.nnet.schedulers.update_learning_rate(optimizer, new_lr)
        return old_lr

    def end_of_validation(self, epoch, train_stats, valid_stats, key):
        """Anneals the learning rates, logs the epoch and keeps the best
        checkpoint by ``valid_stats[key]`` (lower is better).

        Arguments
        ---------
        epoch : int
            The epoch that ends.
        train_stats : dict
            Training statistics of the epoch.
        valid_stats : dict
            Validation statistics (holds ``key``).
        key : str
            Lower-is-better metric that picks the best checkpoint.
        """
        meta = {"epoch": epoch}
        meta["lr"] = self._anneal(
            self.hparams.lr_annealing, self.optimizer, epoch, valid_stats
        )
        weights_annealing = self.hparams.lr_annealing_weights
        if self.weights_optimizer is not None:
            meta["lr_weights"] = self.weights_optimizer.param_groups[0]["lr"]
            if weights_annealing is not None:
                meta["lr_weights"] = self._anneal(
                    weights_annealing,
                    self.weights_optimizer,
                    epoch,
                    valid_stats,
                )
        self.hparams.train_logger.log_stats(
            stats_meta=meta,
            train_stats=train_stats,
            valid_stats=valid_stats,
        )
        logger.info(f"Layer weights: {self.layer_weights()}")
        if self.checkpointer is not None:
            self.checkpointer.save_and_keep_only(
                meta={key: valid_stats[key]}, min_keys=[key]
            )

    def write_metrics(self, metrics, extra=None):
        """Writes ``<output_folder>/metrics.json``.

        Arguments
        ---------
        metrics : dict
            Final test metrics (name -> number).
        extra : dict, optional
            More fields to store.

        Returns
        -------
        dict
            What was written.
        """
        hparams = self.hparams
        result = {
            "metrics": metrics,
            "layer_weights": self.layer_weights(),
            "features": hparams.features,
            "random_init": bool(hparams.random_init),
            "ssl_folder": str(hparams.ssl_folder),
            "protocol": hparams.protocol,
            "number_of_epochs": hparams.number_of_epochs,
            "epochs_run": hparams.epoch_counter.current,
            "cache_features": bool(hparams.cache_features),
        }
        for key in FOLD_KEYS:
            if key in vars(hparams):  # IEMOCAP's YAMLs only
                result[key] = vars(hparams)[key]
        result.update(extra or {})
        logger.info(f"Metrics of {hparams.output_folder}: {metrics}")
        return save_metrics(hparams.output_folder, result)


def save_metrics(folder, result):
    """Writes ``<folder>/metrics.json`` (on the main process); returns
    ``result``."""
    if if_main_process():
        path = os.path.join(folder, METRICS_FILE)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return result


def add_metrics(folder, fields):
    """Adds fields to a run's ``metrics.json`` (e.g. the layer reference,
    computed after the test).

    Arguments
    ---------
    folder : str
        The run's output folder.
    fields : dict
        Keys and values to add (or replace).

    Returns
    -------
    dict
        What the file now holds.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, METRICS_FILE), "w") as f:
    ...     json.dump({"metrics": {"accuracy": 50.0}}, f)
    >>> add_metrics(folder, {"reference": {"best": 60.0}})["reference"]
    {'best': 60.0}
    >>> read_metrics(folder)["metrics"]
    {'accuracy': 50.0}
    """
    return save_metrics(folder, dict(read_metrics(folder), **fields))


def build_probe(hparams, n_outputs):
    """Builds the probe once the number of outputs is known from the data.

    ``hparams["probe"]`` is a partial (``!name:`` in the YAML) missing only
    ``n_outputs``; the probe is added to the checkpointer.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters with ``probe``, ``checkpointer`` (or None)
        and ``n_classes`` (None, or the output size; it must be at least
        ``n_outputs``).
    n_outputs : int
        Classes (or tokens) found in the data.

    Returns
    -------
    torch.nn.Module

    Example
    -------
    >>> from functools import partial
    >>> from summary_ssl.probes.heads import PooledHead
    >>> probe = partial(PooledHead, input_size=8)
    >>> hparams = {"probe": probe, "n_classes": None, "checkpointer": None}
    >>> build_probe(hparams, 5).output.out_features
    5
    >>> build_probe(dict(hparams, n_classes=3), 5)
    Traceback (most recent call last):
    ...
    ValueError: n_classes is 3 but the data has 5 classes
    """
    forced = hparams["n_classes"]
    if forced is not None and forced < n_outputs:
        raise ValueError(
            f"n_classes is {forced} but the data has {n_outputs} classes"
        )
    probe = hparams["probe"](n_outputs=forced or n_outputs)
    if hparams["checkpointer"] is not None:
        hparams["checkpointer"].add_recoverable("probe", probe)
    return probe


def fit_probe(brain_class, hparams, run_opts, datasets, n_outputs, **attrs):
    """Builds the probe and its Brain, and trains it on ``datasets``'
    ``train`` and ``valid`` splits (the part every MP3S recipe shares).

    Arguments
    ---------
    brain_class : type
        A ``ProbeBrain`` subclass.
    hparams : dict
        Loaded hyperparameters (``modules``, ``opt_class``,
        ``checkpointer``, ``epoch_counter``, ``probe``, loader keys).
    run_opts : dict
        SpeechBrain run options.
    datasets : dict
        ``train`` and ``valid`` datasets.
    n_outputs : int
        Classes (or tokens) found in the data.
    **attrs : dict
        Attributes set on the Brain before training (e.g. a tokenizer).

    Returns
    -------
    ProbeBrain
        The trained Brain, ready for its task's evaluation.
    """
    probe = build_probe(hparams, n_outputs)
    brain = brain_class(
        modules=dict(hparams["modules"], probe=probe),
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    for name, value in attrs.items():
        setattr(brain, name, value)
    brain.fit(
        hparams["epoch_counter"],
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=loader_options(hparams, "train"),
        valid_loader_kwargs=loader_options(hparams, "valid"),
    )
    return brain


def read_metrics(folder):
    """Reads the ``metrics.json`` of a run's output folder."""
    with open(os.path.join(folder, METRICS_FILE), encoding="utf-8") as f:
        return json.load(f)


def accuracy(predictions, targets):
    """Percentage of equal entries.

    Arguments
    ---------
    predictions, targets : torch.Tensor
        Same shape.

    Returns
    -------
    float

    Example
    -------
    >>> import torch
    >>> accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4]))
    75.0
    """
    if predictions.numel() == 0:
        return float("nan")
    return 100.0 * (predictions == targets).float().mean().item()
