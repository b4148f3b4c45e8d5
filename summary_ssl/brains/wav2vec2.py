"""W2V2Brain: wav2vec 2.0 contrastive pretraining on SpeechBrain's Brain.

Expected ``modules``: ``wav2vec2`` (a
:class:`~summary_ssl.lobes.wav2vec2.Wav2Vec2Encoder`) and ``objective``
(a :class:`~summary_ssl.lobes.w2v_objective.W2V2Objective`). Expected
``hparams``: ``mask_prob``, ``mask_length``, ``lr_scheduler``, and
optionally ``min_masks`` and those of
:class:`~summary_ssl.brains.pretraining.PretrainingBrain`, which holds the
training machinery (non-finite handling, accumulation, logs, cost, RNG
states, resume, DDP). This class adds the span masking, the encoder pass,
the objective and the Gumbel temperature, which follows the optimizer
step.

Authors
-------
* summary_ssl contributors 2026
"""

import speechbrain as sb
import torch

from summary_ssl.brains.pretraining import PretrainingBrain, unwrap
from summary_ssl.lobes.span_masking import compute_span_mask


class W2V2Brain(PretrainingBrain):
    """Brain for wav2vec 2.0 pretraining (see the module docstring)."""

    def compute_forward(self, batch, stage):
        """Masks frames (CPU RNG) and runs the encoder."""
        wavs, wav_lens = batch.sig
        model = unwrap(self.modules.wav2vec2)
        samples = torch.round(wav_lens * wavs.shape[1]).long()
        frames = model.frontend.output_lengths(samples)
        max_frames = int(model.frontend.output_lengths(wavs.shape[1]))
        mask = compute_span_mask(
            frames,
            max_frames,
            mask_prob=self.hparams.mask_prob,
            mask_length=self.hparams.mask_length,
            min_masks=getattr(self.hparams, "min_masks", 2),
        )
        if stage == sb.Stage.TRAIN:
            self.count_audio(batch, samples)
        wavs = wavs.to(self.device, non_blocking=True)
        wav_lens = wav_lens.to(self.device, non_blocking=True)
        mask = mask.to(self.device, non_blocking=True)
        out = self.modules.wav2vec2(
            wavs, wav_lens, mask=mask, output_hidden_states=False
        )
        if out["context"].shape[1] != max_frames:
            raise RuntimeError(
                f"front end made {out['context'].shape[1]} frames, "
                f"output_lengths predicted {max_frames}"
            )
        return out, mask

    def compute_objectives(self, predictions, batch, stage):
        """Contrastive + diversity (+ feature penalty) loss."""
        out, mask = predictions
        stats = self.modules.objective(
            out["context"], out["latents"], mask, out["features_pen"]
        )
        return self.record_stats(stats, batch, stage)

    def on_fit_batch_start(self, batch, should_step):
        """Anneals the Gumbel temperature to the current optimizer step."""
        unwrap(self.modules.objective).set_step(self.optimizer_step)
