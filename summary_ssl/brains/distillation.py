"""DistillationBrain: a small student learns a frozen teacher's layers.

DistilHuBERT (Chang et al. 2022) on SpeechBrain's Brain. Expected
``modules``: ``student`` (a
:class:`~summary_ssl.lobes.encoders.wav2vec2.Wav2Vec2Encoder`, built by
:func:`~summary_ssl.lobes.objectives.distillation.student_from_teacher`),
``heads`` (a
:class:`~summary_ssl.lobes.objectives.distillation.PredictionHeads`) and
``teacher`` (a :class:`~summary_ssl.pretrained.FrozenSSLEncoder`: no
trainable parameters, always in eval mode, run without gradient).
Expected ``hparams`` (its ``required_hparams``): ``distillation_loss`` (a
:class:`~summary_ssl.lobes.objectives.distillation.DistillationLoss`) and those
of :class:`~summary_ssl.brains.pretraining.PretrainingBrain`, which holds the
training machinery (accumulation, precision, non-finite handling, logs,
checkpoints, resume, DDP).

The teacher has no trainable parameter, so the optimizer
(``PretrainingBrain.init_optimizers``) and SpeechBrain's DDP wrapping
(modules with trainable parameters only) leave it out; it is not a
checkpoint recoverable (it is reloaded from its folder), and the recipe
exports only the student (``encoder_to_export``): the heads are dropped.

Each batch: the teacher's hidden states (no gradient) at the heads'
layers are the targets; the student encodes the same waveforms, unmasked,
and its last layer's output goes through the heads.

Authors
-------
* summary_ssl contributors 2026
"""

import speechbrain as sb
import torch

from summary_ssl.brains.hparams_checks import check_distillation_hparams
from summary_ssl.brains.pretraining import PretrainingBrain, unwrap
from summary_ssl.lobes.objectives.distillation import check_distillation_setup


class DistillationBrain(PretrainingBrain):
    """Brain for layer-to-layer distillation (see the module docstring)."""

    objective_checks = (check_distillation_hparams,)

    required_hparams = PretrainingBrain.required_hparams + (
        "distillation_loss",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("student", "heads", "teacher"):
            if name not in self.modules:
                raise ValueError(
                    f"DistillationBrain needs a module named {name!r} "
                    "(see recipes/LibriSpeech/distillation)"
                )
        teacher = self.modules.teacher
        if any(p.requires_grad for p in teacher.parameters()):
            raise ValueError(
                "the teacher has trainable parameters: use "
                "summary_ssl.pretrained.FrozenSSLEncoder"
            )
        check_distillation_setup(
            unwrap(self.modules.student),
            teacher,
            unwrap(self.modules.heads),
            self.hparams.sample_rate,
        )

    def compute_forward(self, batch, stage):
        """Teacher targets (no gradient) and the heads' predictions."""
        wavs, wav_lens = batch.sig
        wavs = wavs.to(self.device, non_blocking=True)
        wav_lens = wav_lens.to(self.device, non_blocking=True)
        student = unwrap(self.modules.student)
        if stage == sb.Stage.TRAIN:
            self.count_audio(batch, student.sample_lengths(wavs, wav_lens))
        teacher = self.modules.teacher
        teacher.eval()  # also when a caller set train() on everything
        with torch.no_grad():
            hidden, _ = teacher(wavs, wav_lens)
        layers = unwrap(self.modules.heads).teacher_layers
        targets = hidden[layers]
        out = self.modules.student(wavs, wav_lens, output_hidden_states=True)
        predictions = self.modules.heads(out["context"])
        if predictions.shape[:-1] != targets.shape[:-1]:
            raise RuntimeError(
                f"student predictions {tuple(predictions.shape)} and teacher "
                f"targets {tuple(targets.shape)} do not align"
            )
        return predictions, targets, out["padding"]

    def compute_objectives(self, predictions, batch, stage):
        """L1 - lambda log sigmoid(cos), summed over heads."""
        predicted, targets, padding = predictions
        stats = self.hparams.distillation_loss(predicted, targets, padding)
        return self.record_stats(stats, batch, stage)
