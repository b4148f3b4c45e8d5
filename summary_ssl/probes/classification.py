"""Utterance classification probe (MP3S SLURP intents, IEMOCAP emotions).

Expected, beyond :class:`~summary_ssl.probes.brain.ProbeBrain`'s:
``modules.probe`` maps (B, T, D) features and lengths to (B, C) logits;
batches with ``label_encoded`` ((B, 1) class indices).

Authors
-------
* summary_ssl contributors 2026
"""

import speechbrain as sb
import torch
import torch.nn.functional as F

from summary_ssl.probes.brain import ProbeBrain, accuracy


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
        label = getattr(self.hparams, "label", None)
        if getattr(self.hparams, "data_source", None) == "labelled_folder":
            label = "subfolder"
        self.write_metrics(
            {"accuracy": acc},
            extra={
                "label": label,
                "test_utterances": int(sum(map(len, self.targets))),
            },
        )
