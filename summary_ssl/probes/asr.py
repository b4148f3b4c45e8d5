"""CTC speech recognition probe over characters (MP3S LibriSpeech).

Expected, beyond :class:`~summary_ssl.probes.brain.ProbeBrain`'s:
``modules.probe`` maps (B, T, D) features to (B, T, tokens) logits;
``hparams.blank_index``; ``brain.tokenizer`` (a SpeechBrain
``CTCTextEncoder``, set by the recipe); batches with ``tokens`` (encoded
characters) and ``wrd`` (the reference text).

Authors
-------
* summary_ssl contributors 2026
"""

import logging
import os

import jiwer
import speechbrain as sb
import torch
from speechbrain.decoders import ctc_greedy_decode
from speechbrain.utils.distributed import if_main_process

from summary_ssl.probes.brain import ProbeBrain

logger = logging.getLogger(__name__)


def error_rates(refs, hyps):
    """WER and CER in percent (jiwer), whitespace-normalised.

    Arguments
    ---------
    refs, hyps : list of str
        References and hypotheses, in the same order.

    Returns
    -------
    dict
        ``WER`` and ``CER``.

    Example
    -------
    >>> error_rates(["THE CAT SAT", "A DOG"], ["THE CAT  SAT", "A FOG"])
    {'WER': 20.0, 'CER': 6.25}
    >>> error_rates(["THE CAT"], [""])  # an empty hypothesis is all errors
    {'WER': 100.0, 'CER': 100.0}
    """
    refs = [" ".join(r.split()) for r in refs]
    hyps = [" ".join(h.split()) for h in hyps]
    return {
        "WER": 100.0 * jiwer.wer(refs, hyps),
        "CER": 100.0 * jiwer.cer(refs, hyps),
    }


class CTCProbeBrain(ProbeBrain):
    """Character CTC probe: greedy decoding, WER and CER on the words."""

    def compute_forward(self, batch, stage):
        """Features -> probe -> (log-probabilities, relative lengths)."""
        batch = batch.to(self.device)
        feats, lens = self.compute_features(batch)
        logits = self.modules.probe(feats, lens)
        return torch.log_softmax(logits, dim=-1), lens

    def compute_objectives(self, predictions, batch, stage):
        """CTC loss; greedy hypotheses are kept outside training."""
        log_probs, lens = predictions
        tokens, token_lens = batch.tokens
        loss = sb.nnet.losses.ctc_loss(
            log_probs, tokens, lens, token_lens, self.hparams.blank_index
        )
        if stage != sb.Stage.TRAIN:
            sequences = ctc_greedy_decode(
                log_probs, lens, blank_id=self.hparams.blank_index
            )
            for seq in sequences:
                self.hyps.append("".join(self.tokenizer.decode_ndim(seq)))
            self.refs.extend(batch.wrd)
            self.utt_ids.extend(batch.id)
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Resets the hypotheses."""
        self.refs, self.hyps, self.utt_ids = [], [], []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs WER/CER, anneals, checkpoints, writes the test metrics."""
        stats = {"loss": stage_loss}
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        stats.update(error_rates(self.refs, self.hyps))
        if stage == sb.Stage.VALID:
            self.end_of_validation(epoch, self.train_stats, stats, "WER")
            return
        self.hparams.train_logger.log_stats(
            stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
            test_stats=stats,
        )
        self._write_hypotheses()
        self.write_metrics({"WER": stats["WER"], "CER": stats["CER"]})

    def _write_hypotheses(self):
        if not if_main_process():
            return
        path = os.path.join(self.hparams.output_folder, "test_hyps.txt")
        with open(path, "w", encoding="utf-8") as f:
            for utt, ref, hyp in zip(self.utt_ids, self.refs, self.hyps):
                f.write(f"{utt}\tREF: {ref}\n{utt}\tHYP: {hyp}\n")
