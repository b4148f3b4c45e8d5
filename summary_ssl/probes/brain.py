"""ProbeBrain: what every MP3S probe recipe shares.

Expected ``modules``:

* ``extractor``: a frozen :class:`~summary_ssl.probes.features.
  FrozenFeatures` (never trained, never checkpointed: it has no trainable
  parameter, so SpeechBrain does not wrap it in DDP either);
* ``layer_sum``: a :class:`~summary_ssl.pretrained.WeightedLayerSum`;
* ``probe``: the task's head, built by :func:`build_probe` once the
  data says how many outputs it needs.

Expected ``hparams``: ``output_folder``, ``features``, ``random_init``,
``cache_features`` (bool) and ``feature_cache`` (folder),
``lr_annealing`` (a SpeechBrain scheduler called with the validation
loss) and ``train_logger``.

What it adds to ``speechbrain.core.Brain``:

* :meth:`compute_features`: frozen features (from the cache when
  ``cache_features``) mixed by the learned layer weights;
* an optimizer over the trainable parameters only;
* :meth:`end_of_validation`: LR annealing on the validation loss,
  logging, best-checkpoint bookkeeping on the task metric;
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
from speechbrain.utils.distributed import if_main_process

from summary_ssl.probes.cache import FeatureCache
from summary_ssl.probes.data import loader_options

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


class ProbeBrain(sb.core.Brain):
    """Base Brain for probes on frozen features (see the module docstring).

    Subclasses implement ``compute_forward``, ``compute_objectives`` and
    ``on_stage_end`` as usual, calling :meth:`compute_features`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.feature_cache = None
        if getattr(self.hparams, "cache_features", False):
            self.feature_cache = FeatureCache(
                self.hparams.feature_cache,
                self.modules.extractor.fingerprint(),
            )
            logger.info(f"Feature cache: {self.feature_cache.folder}")

    def compute_features(self, batch):
        """The probe input of a batch.

        Arguments
        ---------
        batch : speechbrain.dataio.batch.PaddedBatch
            With ``id`` and ``sig`` (waveforms and relative lengths).

        Returns
        -------
        feats : torch.Tensor
            (B, T, D) mixed layers, zero on padded frames.
        lens : torch.Tensor
            (B,) relative lengths in frames.
        """
        wavs, wav_lens = batch.sig
        if self.feature_cache is None:
            hidden, lens = self.modules.extractor(wavs, wav_lens)
        else:
            hidden, lens = self._cached_features(batch.id, wavs, wav_lens)
        return self.modules.layer_sum(hidden), lens

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

    def init_optimizers(self):
        """One optimizer over the trainable parameters (the layer weights
        and the probe); the frozen encoder is left out."""
        if self.opt_class is None:
            return super().init_optimizers()
        params = [p for p in self.modules.parameters() if p.requires_grad]
        self.optimizer = self.opt_class(params)
        self.optimizers_dict = {"opt_class": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

    def layer_weights(self):
        """The learned softmax layer weights, as a list."""
        layer_sum = self.modules.layer_sum
        layer_sum = getattr(layer_sum, "module", layer_sum)  # DDP
        return [round(w, 6) for w in layer_sum.layer_weights().tolist()]

    def end_of_validation(self, epoch, train_stats, valid_stats, key):
        """Anneals the LR on the validation loss, logs the epoch and keeps
        the best checkpoint by ``valid_stats[key]`` (lower is better).

        The loss, not the task metric, drives the LR: a metric can stay
        flat for epochs while the probe still improves (a CTC probe's WER
        is 100% until it leaves the all-blank stage).

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
        old_lr, new_lr = self.hparams.lr_annealing(valid_stats["loss"])
        sb.nnet.schedulers.update_learning_rate(self.optimizer, new_lr)
        self.hparams.train_logger.log_stats(
            stats_meta={"epoch": epoch, "lr": old_lr},
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
            "ssl_folder": str(getattr(hparams, "ssl_folder", None)),
            "number_of_epochs": getattr(hparams, "number_of_epochs", None),
            "cache_features": bool(getattr(hparams, "cache_features", 0)),
        }
        if hasattr(hparams, "test_session"):  # IEMOCAP folds
            result["test_session"] = hparams.test_session
        result.update(extra or {})
        if if_main_process():
            path = os.path.join(hparams.output_folder, METRICS_FILE)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=2)
                f.write("\n")
            logger.info(f"Metrics written to {path}: {metrics}")
        return result


def build_probe(hparams, n_outputs):
    """Builds the probe once the number of outputs is known from the data.

    ``hparams["probe"]`` is a partial (``!name:`` in the YAML) missing only
    ``n_outputs``; the probe is added to the checkpointer.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters with ``probe`` and ``checkpointer``, and
        optionally ``n_classes`` (forces the output size; it must be at
        least ``n_outputs``).
    n_outputs : int
        Classes (or tokens) found in the data.

    Returns
    -------
    torch.nn.Module

    Example
    -------
    >>> from functools import partial
    >>> from summary_ssl.probes.heads import PooledHead
    >>> hparams = {"probe": partial(PooledHead, input_size=8)}
    >>> build_probe(hparams, 5).output.out_features
    5
    >>> build_probe(dict(hparams, n_classes=3), 5)
    Traceback (most recent call last):
    ...
    ValueError: n_classes is 3 but the data has 5 classes
    """
    forced = hparams.get("n_classes")
    if forced is not None and forced < n_outputs:
        raise ValueError(
            f"n_classes is {forced} but the data has {n_outputs} classes"
        )
    probe = hparams["probe"](n_outputs=forced or n_outputs)
    if hparams.get("checkpointer") is not None:
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
    """Reads a run's ``metrics.json``.

    Arguments
    ---------
    folder : str
        The run's output folder.

    Returns
    -------
    dict
    """
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
