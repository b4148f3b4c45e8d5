"""CTC speech recognition probe over characters (MP3S LibriSpeech).

Expected, beyond :class:`~summary_ssl.probes.brain.ProbeBrain`'s:
``modules.probe`` maps (B, T, D) features to (B, T, tokens) logits;
``hparams.blank_index``; ``brain.tokenizer`` (a SpeechBrain
``CTCTextEncoder``, set by the recipe); batches with ``tokens`` (encoded
characters) and ``wrd`` (the reference text). Validation decodes
greedily; the test stage uses ``hparams.test_decoder``: ``greedy`` or
``beam`` (SpeechBrain's ``CTCBeamSearcher`` built by
:func:`beam_searcher` with the options of ``hparams.beam_search``, as
MP3S: beam 143, no language model).

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
from speechbrain.decoders.ctc import CTCBeamSearcher
from speechbrain.utils.distributed import if_main_process

from summary_ssl.probes.brain import ProbeBrain

logger = logging.getLogger(__name__)

#: The values of ``test_decoder``.
DECODERS = ("greedy", "beam")
#: The scalar reductions of SpeechBrain's ``ctc_loss`` (``ctc_reduction``).
CTC_REDUCTIONS = ("mean", "batchmean", "sum")


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


def beam_searcher(tokenizer, blank_index, options):
    """SpeechBrain's ``CTCBeamSearcher`` over a character tokenizer.

    Arguments
    ---------
    tokenizer : speechbrain.dataio.encoder.CTCTextEncoder
        The characters (the blank included).
    blank_index : int
        Index of the blank.
    options : dict
        ``CTCBeamSearcher`` options (``beam_size``, ``beam_prune_logp``,
        ...); ``space_token`` defaults to a space.

    Returns
    -------
    speechbrain.decoders.ctc.CTCBeamSearcher

    Example
    -------
    >>> from speechbrain.dataio.encoder import CTCTextEncoder
    >>> tokenizer = CTCTextEncoder()
    >>> tokenizer.update_from_iterable(list("AB "))
    >>> tokenizer.insert_blank(index=0)
    >>> searcher = beam_searcher(tokenizer, 0, {"beam_size": 4})
    >>> ids = [tokenizer.lab2ind[c] for c in "A B"]
    >>> log_probs = torch.full((1, 3, 4), -20.0)
    >>> log_probs[0, torch.arange(3), ids] = 0.0
    >>> searcher(log_probs, torch.ones(1))[0][0].text
    'A B'
    """
    vocab = [tokenizer.ind2lab[i] for i in range(len(tokenizer))]
    options = dict({"space_token": " "}, **options)
    return CTCBeamSearcher(blank_index=blank_index, vocab_list=vocab, **options)


class CTCTranscripts:
    """What the CTC Brains share (:class:`CTCProbeBrain` and
    :class:`~summary_ssl.finetune.ctc_brain.CTCFineTuneBrain`): the CTC
    loss, and outside training the references, hypotheses and utterance
    ids of the stage (``refs``, ``hyps``, ``utt_ids``), decoded greedily
    or, at test time when ``test_decoder`` is ``beam``, by a beam search.

    The Brain mixing it in has ``hparams.blank_index``,
    ``hparams.test_decoder`` (one of :data:`DECODERS`), batches with
    ``tokens`` and ``wrd``, and defines :meth:`build_searcher`,
    :meth:`greedy_text` and :meth:`on_scored_stage_end`.
    """

    searcher = None  # the beam search, built at its first use
    #: SpeechBrain's ``ctc_loss`` reduction. ``mean`` (SpeechBrain's and
    #: MP3S's): each utterance's loss divided by its number of target
    #: tokens, then averaged; ``batchmean`` (fairseq's ``sentence_avg``):
    #: the utterances' losses averaged, unnormalised.
    ctc_reduction = "mean"

    def compute_objectives(self, predictions, batch, stage):
        """CTC loss: SpeechBrain's ``ctc_loss`` (infinite losses zeroed,
        as fairseq's ``zero_infinity``) with :attr:`ctc_reduction`.
        Hypotheses are kept outside training."""
        log_probs, lens = predictions
        tokens, token_lens = batch.tokens
        loss = sb.nnet.losses.ctc_loss(
            log_probs,
            tokens,
            lens,
            token_lens,
            self.hparams.blank_index,
            reduction=self.ctc_reduction,
        )
        if stage != sb.Stage.TRAIN:
            self.hyps.extend(self.decode(log_probs, lens, stage))
            self.refs.extend(batch.wrd)
            self.utt_ids.extend(batch.id)
        return loss

    def decode(self, log_probs, lens, stage):
        """Hypotheses (strings) of a batch: greedy, or the beam search at
        test time when ``test_decoder`` is ``beam``."""
        if stage == sb.Stage.TEST and self.hparams.test_decoder == "beam":
            if self.searcher is None:
                self.searcher = self.build_searcher()
            beams = self.searcher(log_probs.float(), lens)
            return [self.beam_text(hyp[0]) if hyp else "" for hyp in beams]
        sequences = ctc_greedy_decode(
            log_probs, lens, blank_id=self.hparams.blank_index
        )
        return [self.greedy_text(s) for s in sequences]

    def build_searcher(self):
        """The beam search (a ``CTCBeamSearcher``)."""
        raise NotImplementedError

    def greedy_text(self, sequence):
        """The text of a greedy token sequence (a list of ids)."""
        raise NotImplementedError

    def beam_text(self, hypothesis):
        """The text of the best beam-search hypothesis."""
        return hypothesis.text

    def on_stage_start(self, stage, epoch=None):
        """Checks ``test_decoder`` and ``ctc_reduction``; resets the
        hypotheses."""
        if self.hparams.test_decoder not in DECODERS:
            raise ValueError(f"test_decoder must be one of {DECODERS}")
        if self.ctc_reduction not in CTC_REDUCTIONS:
            raise ValueError(f"ctc_reduction must be one of {CTC_REDUCTIONS}")
        self.refs, self.hyps, self.utt_ids = [], [], []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Keeps the training loss in ``train_stats``; scores the other
        stages (WER, CER) and hands them to :meth:`on_scored_stage_end`."""
        stats = {"loss": stage_loss}
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        stats.update(error_rates(self.refs, self.hyps))
        self.on_scored_stage_end(stage, stats, epoch)

    def on_scored_stage_end(self, stage, stats, epoch):
        """The end of a validation or test stage, with its ``stats``
        (``loss``, ``WER``, ``CER``)."""
        raise NotImplementedError


class CTCProbeBrain(CTCTranscripts, ProbeBrain):
    """Character CTC probe: greedy or beam-search decoding, WER and CER on
    the words. Set ``test_name`` before each ``evaluate``: the test
    metrics of every test set go to ``test_metrics[test_name]``."""

    test_name = "test"

    def compute_forward(self, batch, stage):
        """Features -> probe -> (log-probabilities, relative lengths)."""
        batch = batch.to(self.device)
        feats, lens = self.compute_features(batch, stage)
        logits = self.modules.probe(feats, lens)
        return torch.log_softmax(logits, dim=-1), lens

    def build_searcher(self):
        """:func:`beam_searcher` with the options of ``beam_search``."""
        return beam_searcher(
            self.tokenizer, self.hparams.blank_index, self.hparams.beam_search
        )

    def greedy_text(self, sequence):
        """The characters of ``sequence``, joined."""
        return "".join(self.tokenizer.decode_ndim(sequence))

    def on_scored_stage_end(self, stage, stats, epoch):
        """Anneals and checkpoints after validation; logs and keeps the
        test metrics."""
        if stage == sb.Stage.VALID:
            self.end_of_validation(epoch, self.train_stats, stats, "WER")
            return
        self.hparams.train_logger.log_stats(
            stats_meta={
                "Epoch loaded": self.hparams.epoch_counter.current,
                "test set": self.test_name,
            },
            test_stats=stats,
        )
        self._write_hypotheses()
        if not hasattr(self, "test_metrics"):
            self.test_metrics = {}
        self.test_metrics[self.test_name] = {
            "WER": stats["WER"],
            "CER": stats["CER"],
        }

    def _write_hypotheses(self):
        if not if_main_process():
            return
        path = os.path.join(
            self.hparams.output_folder, f"test_hyps_{self.test_name}.txt"
        )
        with open(path, "w", encoding="utf-8") as f:
            for utt, ref, hyp in zip(self.utt_ids, self.refs, self.hyps):
                f.write(f"{utt}\tREF: {ref}\n{utt}\tHYP: {hyp}\n")
