"""CTC fine-tuning of an exported encoder (wav2vec 2.0 style).

:class:`CTCFineTuneBrain` trains an
:class:`~summary_ssl.finetune.adaptation.AdaptedEncoder` (``full``,
``frozen``, ``lora`` or ``read``) and a linear CTC head, as fairseq's
``wav2vec_ctc`` fine-tuning does:

* during training the encoder's input gets fairseq's time masking
  (spans of ``mask_length`` frames, ``mask_prob``) and channel masking
  (spans of ``mask_channel_length`` channels, ``mask_channel_prob``);
* for the first ``freeze_finetune_updates`` optimizer steps only the
  head trains (fairseq's, for ``full``; here also the LoRA adapters and
  the READ side network wait);
* the CTC loss is reduced by ``ctc_reduction`` (fairseq's
  ``sentence_avg``: ``batchmean``);
* the learning rate follows ``lr_annealing`` (SpeechBrain's
  ``TriStageLRSchedule``) by optimizer step;
* validation decodes greedily; the test stage decodes with
  ``test_decoder`` (``greedy``, or ``beam``: SpeechBrain's
  ``CTCBeamSearcher``), writes ``wer_<split>.txt`` and ``cer_<split>.txt``
  (SpeechBrain's ``ErrorRateStats`` format) and cross-checks the WER with
  jiwer.

It also keeps what a comparison of adaptations needs (:meth:`results`):
trainable parameters, peak memory, time per optimizer step, WER and CER.

Expected beyond SpeechBrain's Brain: ``modules.encoder`` (an
``AdaptedEncoder``), ``modules.ctc_lin``; ``brain.tokenizer`` (a
:mod:`summary_ssl.finetune.tokens` tokenizer), set by the recipe; hparams
``adaptation``, ``blank_index``, ``ctc_reduction``, the masking keys above,
``freeze_finetune_updates``, ``lr_annealing``, ``test_decoder``,
``beam_search``, ``output_folder``, ``train_logger``.

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import os
import resource
import time

import speechbrain as sb
import torch
from speechbrain.decoders.ctc import CTCBeamSearcher
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.metric_stats import ErrorRateStats

from summary_ssl.brains.pretraining import log_validation
from summary_ssl.lobes.augment.span_masking import compute_span_mask
from summary_ssl.probes.asr import CTCTranscripts

logger = logging.getLogger(__name__)


def peak_memory_mib(device):
    """Peak memory so far, in MiB, and what was measured.

    On CUDA: ``torch.cuda.max_memory_allocated`` (tensors only, since the
    last reset). On CPU: the process's peak resident set size
    (``ru_maxrss``), which includes Python, the data and every earlier
    run of the process.
    """
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss"


def training_masks(frame_lengths, max_len, dim, hparams):
    """fairseq's fine-tuning masks of a batch.

    Arguments
    ---------
    frame_lengths : torch.Tensor
        (B,) real frames.
    max_len : int
        Padded frames.
    dim : int
        Channels of the encoder input.
    hparams : object
        ``mask_prob``, ``mask_length``, ``min_masks``,
        ``mask_channel_prob``, ``mask_channel_length``.

    Returns
    -------
    tuple
        (B, T) time mask or None, (B, dim) channel mask or None.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> hp = SimpleNamespace(mask_prob=0.5, mask_length=4, min_masks=1,
    ...                      mask_channel_prob=0.5, mask_channel_length=4)
    >>> time_mask, channel_mask = training_masks(
    ...     torch.tensor([40, 20]), 40, 16, hp)
    >>> time_mask.shape, bool(time_mask[1, 20:].any()), channel_mask.shape
    (torch.Size([2, 40]), False, torch.Size([2, 16]))
    """
    time_mask = channel_mask = None
    if hparams.mask_prob > 0:
        time_mask = compute_span_mask(
            frame_lengths,
            max_len,
            mask_prob=hparams.mask_prob,
            mask_length=hparams.mask_length,
            min_masks=hparams.min_masks,
        )
    if hparams.mask_channel_prob > 0:
        channels = torch.full_like(frame_lengths, dim)
        channel_mask = compute_span_mask(
            channels,
            dim,
            mask_prob=hparams.mask_channel_prob,
            mask_length=min(hparams.mask_channel_length, dim),
            min_masks=0,
        )
    return time_mask, channel_mask


class CTCFineTuneBrain(CTCTranscripts, sb.core.Brain):
    """CTC fine-tuning of an adapted encoder; see the module docstring.

    Set ``test_name`` before each ``evaluate``: that split's metrics go
    to ``test_metrics[test_name]``.
    """

    test_name = "test"
    tokenizer = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.searcher = None  # built at the first beam-search test batch
        self._step_time, self._timed_steps = 0.0, 0
        self.train_stats = None
        self.test_metrics = {}  # test split -> its WER, CER, loss

    @property
    def ctc_reduction(self):
        """``hparams.ctc_reduction`` (see :class:`CTCTranscripts`)."""
        return self.hparams.ctc_reduction

    @property
    def backbone(self):
        """The encoder inside the adapted one."""
        return _unwrap(self.modules.encoder).encoder

    def compute_forward(self, batch, stage):
        """Waveforms -> (log-probabilities (B, T, V), relative lengths)."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        time_mask = channel_mask = None
        if stage == sb.Stage.TRAIN:
            frontend = self.backbone.frontend
            samples = torch.round(wav_lens * wavs.shape[1]).long()
            frames = frontend.output_lengths(samples)
            max_len = int(frontend.output_lengths(wavs.shape[1]))
            time_mask, channel_mask = training_masks(
                frames, max_len, self.backbone.hidden_size, self.hparams
            )
        feats, frame_lengths = self.modules.encoder(
            wavs, wav_lens, mask=time_mask, channel_mask=channel_mask
        )
        logits = self.modules.ctc_lin(feats)
        lens = frame_lengths.float() / feats.shape[1]
        return torch.log_softmax(logits.float(), dim=-1), lens

    def build_searcher(self):
        """SpeechBrain's ``CTCBeamSearcher`` over the tokenizer's
        vocabulary, with the options of ``beam_search``."""
        return CTCBeamSearcher(
            blank_index=self.hparams.blank_index,
            vocab_list=self.tokenizer.beam_vocab(),
            space_token=self.tokenizer.space_token,
            **self.hparams.beam_search,
        )

    def greedy_text(self, sequence):
        """The tokenizer's text of ``sequence``."""
        return self.tokenizer.decode(sequence)

    def beam_text(self, hypothesis):
        """The hypothesis's text with single spaces."""
        return " ".join(hypothesis.text.split())

    # -- schedule, freezing, timing ----------------------------------------

    def on_fit_start(self):
        """Builds optimizers, recovers, sets the LR of the next step."""
        super().on_fit_start()
        self._step_time = 0.0
        self._timed_steps = 0
        if str(self.device).startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        if self.optimizer is not None:
            self.hparams.lr_annealing(self.optimizer, self.optimizer_step)

    def init_optimizers(self):
        """One optimizer over the adapted encoder's trainable parameters
        (every one a run may train, the ones frozen for the first updates
        included) and the head's."""
        if self.opt_class is None:
            return
        encoder = _unwrap(self.modules.encoder)
        params = [p for p in encoder.parameters() if p.requires_grad]
        params += list(self.modules.ctc_lin.parameters())
        self.optimizer = self.opt_class(params)
        self.optimizers_dict = {"opt_class": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

    def on_fit_batch_start(self, batch, should_step):
        """fairseq's ``freeze_finetune_updates``; starts the step clock.

        For the first ``freeze_finetune_updates`` optimizer steps only the
        CTC head trains: the adapted encoder runs what it trains (encoder,
        LoRA adapters or READ side network) under no_grad
        (``AdaptedEncoder.set_encoder_frozen``; Adam skips parameters
        without gradient). fairseq does this for full fine-tuning; without
        it, on the toy corpus, LoRA on every linear never left the
        all-blank plateau in 60 steps (2 seeds), while the head alone did.
        """
        frozen = self.optimizer_step < self.hparams.freeze_finetune_updates
        _unwrap(self.modules.encoder).set_encoder_frozen(frozen)
        if str(self.device).startswith("cuda"):
            torch.cuda.synchronize()
        self._batch_start = time.perf_counter()

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """The LR of the next step; the step clock."""
        if str(self.device).startswith("cuda"):
            torch.cuda.synchronize()
        self._step_time += time.perf_counter() - self._batch_start
        if should_step:
            self._timed_steps += 1
            self.hparams.lr_annealing(self.optimizer, self.optimizer_step)

    # -- stages ------------------------------------------------------------

    def on_scored_stage_end(self, stage, stats, epoch):
        """Logs, checkpoints (best dev WER kept), writes the test WER
        files."""
        if stage == sb.Stage.VALID:
            log_validation(
                self,
                epoch,
                self.train_stats,
                stats,
                meta={"WER": stats["WER"], "steps": self.optimizer_step},
                min_keys=["WER"],
                num_to_keep=1,
            )
            return
        stats.update(self._write_error_stats())
        self.hparams.train_logger.log_stats(
            stats_meta={"test set": self.test_name},
            test_stats=stats,
        )
        self.test_metrics[self.test_name] = {
            "WER": stats["WER"],
            "CER": stats["CER"],
            "loss": float(stats["loss"]),
            "utterances": len(self.refs),
        }

    def _write_error_stats(self):
        """``wer_<split>.txt`` and ``cer_<split>.txt`` (SpeechBrain's
        ErrorRateStats); returns its WER, to compare with jiwer's."""
        wer, cer = ErrorRateStats(), ErrorRateStats(split_tokens=True)
        refs = [r.split() for r in self.refs]
        hyps = [h.split() for h in self.hyps]
        wer.append(self.utt_ids, hyps, refs)
        cer.append(self.utt_ids, hyps, refs)
        if if_main_process():
            folder = self.hparams.output_folder
            for name, metric in (("wer", wer), ("cer", cer)):
                path = os.path.join(folder, f"{name}_{self.test_name}.txt")
                with open(path, "w", encoding="utf-8") as f:
                    metric.write_stats(f)
        return {"speechbrain_WER": wer.summarize("error_rate")}

    def results(self):
        """One row of the adaptation comparison (a dict)."""
        encoder = _unwrap(self.modules.encoder)
        head = sum(p.numel() for p in self.modules.ctc_lin.parameters())
        trainable = encoder.trainable_parameters()
        memory, memory_kind = peak_memory_mib(self.device)
        steps = max(self._timed_steps, 1)
        return {
            "adaptation": self.hparams.adaptation,
            "random_init": bool(self.hparams.random_init),
            "trainable_params": trainable + head,
            "backbone_params": sum(
                p.numel() for p in encoder.backbone_parameters()
            ),
            "peak_memory_mib": round(memory, 1),
            "peak_memory_kind": memory_kind,
            "seconds_per_step": round(self._step_time / steps, 4),
            "timed_steps": self._timed_steps,
            "optimizer_steps": self.optimizer_step,
            "device": str(self.device),
            "test": self.test_metrics,
        }


def write_results(row, folder):
    """Writes ``results.json`` and a one-row ``results.md`` table.

    Example
    -------
    >>> import pathlib
    >>> row = {"adaptation": "lora", "random_init": False,
    ...        "trainable_params": 10, "backbone_params": 100,
    ...        "peak_memory_mib": 1.0, "peak_memory_kind": "rss",
    ...        "seconds_per_step": 0.1, "optimizer_steps": 5,
    ...        "test": {"test": {"WER": 50.0, "CER": 20.0}}}
    >>> md = write_results(row, getfixture("tmp_path"))
    >>> print(pathlib.Path(md).read_text().splitlines()[2])
    | lora | pretrained | 10 | 1.0 (rss) | 0.100 | 5 | 50.00 / 20.00 |
    """
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(row, f, indent=2)
    splits = sorted(row["test"])
    header = (
        "| adaptation | encoder | trainable params | peak memory MiB "
        "| s/step | steps | "
        + " | ".join(f"WER / CER {s}" for s in splits)
        + " |"
    )
    rule = "|---" * (6 + len(splits)) + "|"
    cells = [
        row["adaptation"],
        "random init" if row["random_init"] else "pretrained",
        str(row["trainable_params"]),
        f"{row['peak_memory_mib']} ({row['peak_memory_kind']})",
        f"{row['seconds_per_step']:.3f}",
        str(row["optimizer_steps"]),
    ] + [
        f"{row['test'][s]['WER']:.2f} / {row['test'][s]['CER']:.2f}"
        for s in splits
    ]
    path = os.path.join(folder, "results.md")
    with open(path, "w") as f:
        f.write(f"{header}\n{rule}\n| " + " | ".join(cells) + " |\n")
    return path


def _unwrap(module):
    """The module inside a DDP wrapper."""
    return getattr(module, "module", module)
