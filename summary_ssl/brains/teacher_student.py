"""TeacherStudentBrain: S3LSpeech / Spiral teacher-student pretraining.

Expected ``modules``: ``student`` (a
:class:`~summary_ssl.lobes.encoders.s3lspeech.ProjectedEncoder`), ``teacher``
(an :class:`~summary_ssl.lobes.objectives.ema_teacher.EMATeacher` of the
student) and
``objective`` (a
:class:`~summary_ssl.lobes.objectives.teacher_student.TeacherStudentObjective`).
Expected ``hparams`` (its ``required_hparams``): ``min_duration``,
``noise`` (a
:class:`~summary_ssl.lobes.augment.perturbations.NoiseMixer`), ``spec_augment``
(a :class:`~summary_ssl.lobes.augment.perturbations.SpecAugment`),
``random_shift`` (a
:class:`~summary_ssl.lobes.augment.perturbations.RandomShift`), and those of
:class:`~summary_ssl.brains.pretraining.PretrainingBrain`, which holds the
training machinery.

Each batch: the student encodes the filterbanks of the noised waveform,
SpecAugment-masked; the teacher (no gradient) encodes the clean
filterbanks, shifted by a random number of 80 ms frames, and its outputs
are cropped back onto the student's frames; the objective scores the
student's predictions of them. After each optimizer step the teacher
moves towards the student (EMA); at step 0 it is set to the student.

Authors
-------
* summary_ssl contributors 2026
"""

import speechbrain as sb
import torch

from summary_ssl.brains.hparams_checks import check_teacher_student_hparams
from summary_ssl.brains.pretraining import PretrainingBrain, unwrap
from summary_ssl.lobes.augment.perturbations import RandomShift


class TeacherStudentBrain(PretrainingBrain):
    """Brain for teacher-student pretraining (see the module docstring)."""

    objective_checks = (check_teacher_student_hparams,)

    required_hparams = PretrainingBrain.required_hparams + (
        "noise",
        "spec_augment",
        "random_shift",
        "min_duration",
    )

    def compute_forward(self, batch, stage):
        """Perturbs the inputs, runs the student and the teacher."""
        wavs, wav_lens = batch.sig
        encoder = unwrap(self.modules.student).encoder
        samples = torch.round(wav_lens * wavs.shape[1]).long()
        if stage == sb.Stage.TRAIN:
            self.count_audio(batch, samples)
        wavs = wavs.to(self.device, non_blocking=True)
        wav_lens = wav_lens.to(self.device, non_blocking=True)
        samples = samples.to(self.device, non_blocking=True)

        clean, frames = encoder.features(wavs, samples)
        noisy, _ = encoder.features(self.hparams.noise(wavs, wav_lens), samples)
        student_in = self.hparams.spec_augment(noisy, frames)
        teacher_in, teacher_frames, left, _ = self.hparams.random_shift(
            clean, frames
        )
        predicted, padding, _ = self.modules.student(student_in, frames)
        target, _, _ = self.modules.teacher(teacher_in, teacher_frames)
        target = RandomShift.crop(target, left, predicted.shape[1])
        if target.shape[1] != predicted.shape[1]:
            raise RuntimeError(
                f"teacher gave {target.shape[1]} frames after the shift, "
                f"the student {predicted.shape[1]}: random_shift's unit "
                "must be the encoder's total downsampling"
            )
        return predicted, target, padding

    def compute_objectives(self, predictions, batch, stage):
        """The teacher-student contrastive loss."""
        predicted, target, padding = predictions
        stats = self.modules.objective(predicted, target, padding)
        stats["ema_decay"] = torch.tensor(
            self.modules.teacher.decay(self.optimizer_step + 1)
        )
        return self.record_stats(stats, batch, stage)

    def on_optimizer_step(self):
        """Moves the teacher towards the student."""
        self.modules.teacher.update(
            unwrap(self.modules.student), self.optimizer_step
        )

    def on_fit_start(self):
        """Checks the settings, recovers, and, on a fresh run, sets the
        teacher to the student."""
        self._check_shift_unit()
        self._check_min_duration()
        super().on_fit_start()
        if self.optimizer_step == 0:
            self.modules.teacher.update(unwrap(self.modules.student), 0)

    def _check_shift_unit(self):
        """The random shift must move the output by whole frames."""
        encoder = unwrap(self.modules.student).encoder
        unit = self.hparams.random_shift.unit
        frames = torch.arange(200, 400)
        out = encoder.frames_to_outputs(frames)
        if not torch.equal(encoder.frames_to_outputs(frames + unit), out + 1):
            raise ValueError(
                f"random_shift unit {unit} is not the encoder's "
                "downsampling: one unit of shift must add exactly one "
                "output frame"
            )

    def _check_min_duration(self):
        """The shortest utterance must give 2 output frames (a positive
        and a negative)."""
        shortest = self.hparams.min_duration
        encoder = unwrap(self.modules.student).encoder
        samples = int(shortest * self.hparams.sample_rate)
        frames = int(encoder.output_lengths(samples))
        if frames < 2:
            raise ValueError(
                f"min_duration {shortest} s gives {frames} output frame(s); "
                "the loss needs at least 2 per utterance: raise min_duration"
            )
