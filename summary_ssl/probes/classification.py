"""Utterance classification probe (MP3S SLURP intents, IEMOCAP emotions).

Expected, beyond :class:`~summary_ssl.probes.brain.ProbeBrain`'s:
``modules.probe`` maps (B, T, D) features and lengths to (B, C) logits;
batches with ``label_encoded`` ((B, 1) class indices).

:meth:`ClassifierProbeBrain.layer_reference` gives the probe's reference:
a logistic regression on each single frozen layer, mean-pooled
(:mod:`summary_ssl.probes.layer_reference`), on the run's own splits and
features (the feature cache's, when there is one).

Authors
-------
* summary_ssl contributors 2026
"""

import logging

import speechbrain as sb
import torch
import torch.nn.functional as F

from summary_ssl.nnet.padding import masked_mean
from summary_ssl.probes.brain import (
    ProbeBrain,
    accuracy,
    add_metrics,
    fit_probe,
)
from summary_ssl.probes.data import labelled_datasets, loader_options
from summary_ssl.probes.layer_reference import (
    layer_accuracies,
    reference_summary,
)

logger = logging.getLogger(__name__)


class ClassifierProbeBrain(ProbeBrain):
    """Cross-entropy classification, accuracy at validation and test."""

    def compute_forward(self, batch, stage):
        """Features -> probe -> (B, C) logits."""
        batch = batch.to(self.device)
        feats, lens = self.compute_features(batch, stage)
        return self.modules.probe(feats, lens)

    def compute_objectives(self, logits, batch, stage):
        """Cross-entropy; predictions are kept outside training."""
        targets = batch.label_encoded.data.reshape(-1)
        loss = F.cross_entropy(logits, targets)
        if stage != sb.Stage.TRAIN:
            self.predictions.append(logits.argmax(dim=-1).cpu())
            self.targets.append(targets.cpu())
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Resets the predictions."""
        self.predictions, self.targets = [], []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs accuracy, anneals, checkpoints, writes the test metrics."""
        stats = {"loss": stage_loss}
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        acc = accuracy(torch.cat(self.predictions), torch.cat(self.targets))
        stats.update({"accuracy": acc, "error_rate": 100.0 - acc})
        if stage == sb.Stage.VALID:
            self.end_of_validation(epoch, self.train_stats, stats, "error_rate")
            return
        self.hparams.train_logger.log_stats(
            stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
            test_stats=stats,
        )
        label = self.hparams.label
        if self.hparams.data_source == "labelled_folder":
            label = "subfolder"
        self.write_metrics(
            {"accuracy": acc},
            extra={
                "label": label,
                "test_utterances": int(sum(map(len, self.targets))),
            },
        )

    @torch.no_grad()
    def pooled_layers(self, dataset):
        """Every frozen layer of a dataset, mean-pooled over each
        utterance's real frames (from the feature cache when there is
        one).

        Arguments
        ---------
        dataset : speechbrain.dataio.dataset.DynamicItemDataset
            Provides ``id``, ``sig`` and ``label_encoded``.

        Returns
        -------
        features : torch.Tensor
            (N, L, D) float32 on the CPU.
        labels : torch.Tensor
            (N,) class indices.
        """
        options = loader_options(vars(self.hparams), "valid")
        loader = self.make_dataloader(
            dataset, sb.Stage.TEST, ckpt_prefix=None, **options
        )
        features, labels = [], []
        for batch in loader:
            batch = batch.to(self.device)
            hidden, lens = self.frozen_features(batch, sb.Stage.TEST)
            pooled = [masked_mean(layer, lens) for layer in hidden]
            features.append(torch.stack(pooled, dim=1).float().cpu())
            labels.append(batch.label_encoded.data.reshape(-1).cpu())
        return torch.cat(features), torch.cat(labels)

    def layer_reference(self, datasets):
        """The single-layer reference of this run's probe.

        Arguments
        ---------
        datasets : dict
            ``train``, ``valid`` and ``test`` datasets (the probe's).

        Returns
        -------
        dict
            :func:`~summary_ssl.probes.layer_reference.reference_summary`:
            test accuracy per layer, the best layer and its accuracy.
        """
        features, labels = {}, {}
        for split in ("train", "valid", "test"):
            features[split], labels[split] = self.pooled_layers(datasets[split])
        summary = reference_summary(layer_accuracies(features, labels))
        logger.info(
            "Single-layer reference, test accuracy per layer: %s; best: "
            "layer %d",
            [round(a, 2) for a in summary["test"]],
            summary["best_layer"],
        )
        return summary


def evaluate_classifier(brain, hparams, datasets):
    """Tests the best checkpoint of a trained classifier probe and, with
    ``hparams["layer_reference"]``, adds the single-layer reference to its
    ``metrics.json`` (what the IC and ER recipes do after training).

    Arguments
    ---------
    brain : ClassifierProbeBrain
        Trained.
    hparams : dict
        Its hyperparameters (``layer_reference``, loader keys).
    datasets : dict
        ``train``, ``valid`` and ``test`` datasets.

    Returns
    -------
    dict or None
        The reference (None without ``layer_reference``).
    """
    brain.evaluate(
        datasets["test"],
        min_key="error_rate",
        test_loader_kwargs=loader_options(hparams, "test"),
    )
    if not hparams["layer_reference"]:
        return None
    reference = brain.layer_reference(datasets)
    add_metrics(hparams["output_folder"], {"reference": reference})
    return reference


def train_classifier(hparams, run_opts, csv_files, column, encoder_file):
    """What the IC and ER recipes do once their data is prepared: the
    datasets (:func:`~summary_ssl.probes.data.labelled_datasets`), the
    training (:func:`~summary_ssl.probes.brain.fit_probe`) and the test
    (:func:`evaluate_classifier`); returns the trained Brain."""
    datasets, encoder = labelled_datasets(
        hparams, csv_files, column, encoder_file
    )
    brain = fit_probe(
        ClassifierProbeBrain, hparams, run_opts, datasets, len(encoder)
    )
    evaluate_classifier(brain, hparams, datasets)
    return brain
