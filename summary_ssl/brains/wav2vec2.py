"""W2V2Brain: wav2vec 2.0 contrastive pretraining on SpeechBrain's Brain.

Expected ``modules``: ``wav2vec2`` (a
:class:`~summary_ssl.lobes.wav2vec2.Wav2Vec2Encoder`) and ``objective``
(a :class:`~summary_ssl.lobes.w2v_objective.W2V2Objective`). Expected
``hparams``: ``mask_prob``, ``mask_length``, ``lr_scheduler``, and
optionally ``min_masks``, ``compile_backend`` and those of
:class:`~summary_ssl.brains.pretraining.PretrainingBrain`, which holds the
training machinery (non-finite handling, accumulation, logs, cost, RNG
states, resume, DDP). This class adds the span masking, the encoder pass,
the objective, the Gumbel temperature, which follows the optimizer step,
and ``torch.compile`` by regions (``compile: True``, see
:mod:`summary_ssl.brains.compile`).

Authors
-------
* summary_ssl contributors 2026
"""

import speechbrain as sb

from summary_ssl.brains.compile import compile_regions
from summary_ssl.brains.pretraining import PretrainingBrain, unwrap
from summary_ssl.lobes.span_masking import compute_span_mask, span_bounds


class W2V2Brain(PretrainingBrain):
    """Brain for wav2vec 2.0 pretraining (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.span_masker = compute_span_mask  # compiled by _compile

    def compute_forward(self, batch, stage):
        """Masks frames and runs the encoder, all on the device: the span
        mask is drawn from the device's RNG with shapes fixed by the
        batch's (see ``summary_ssl.lobes.span_masking``), so nothing here
        waits for the GPU."""
        wavs, wav_lens = batch.sig
        wavs = wavs.to(self.device, non_blocking=True)
        wav_lens = wav_lens.to(self.device, non_blocking=True)
        model = unwrap(self.modules.wav2vec2)
        samples = model.sample_lengths(wavs, wav_lens)
        max_frames = int(model.frontend.output_lengths(wavs.shape[1]))
        mask = self.span_masker(
            model.frontend.output_lengths(samples),
            max_frames,
            **self._mask_options(),
        )
        if stage == sb.Stage.TRAIN:
            self.count_audio(batch, samples)
        # The utterance-level term may read a lower layer (YAML
        # ``utterance_contrast_layer``; null = the top one, ``context``).
        layer = None
        if unwrap(self.modules.objective).utterance_contrast_weight > 0:
            layer = getattr(self.hparams, "utterance_contrast_layer", None)
        out = self.modules.wav2vec2(
            wavs, wav_lens, mask=mask, output_hidden_states=layer is not None
        )
        if layer is not None:
            # A copy, so the stack of every layer's states can be freed.
            out["utterance_context"] = out.pop("hidden_states")[layer].clone()
        if out["context"].shape[1] != max_frames:
            raise RuntimeError(
                f"front end made {out['context'].shape[1]} frames, "
                f"output_lengths predicted {max_frames}"
            )
        return out, mask

    def _mask_options(self):
        return dict(
            mask_prob=self.hparams.mask_prob,
            mask_length=self.hparams.mask_length,
            min_masks=getattr(self.hparams, "min_masks", 2),
        )

    def compute_objectives(self, predictions, batch, stage):
        """Contrastive + diversity (+ feature penalty) loss."""
        out, mask = predictions
        _, num_slots = span_bounds(mask.shape[1], **self._mask_options())
        key_proj = None
        if unwrap(self.modules.objective).utterance_bank_size:
            # The bank's keys: latents -> the input projection (layer 0).
            proj = unwrap(self.modules.wav2vec2).input_proj
            key_proj = (proj.weight, proj.bias)
        stats = self.modules.objective(
            out["context"],
            out["latents"],
            mask,
            out["features_pen"],
            num_slots=num_slots,
            padding=out["padding"],
            utterance_context=out.get("utterance_context"),
            utterance_key_proj=key_proj,
        )
        return self.record_stats(stats, batch, stage)

    def on_fit_batch_start(self, batch, should_step):
        """Anneals the Gumbel temperature to the current optimizer step."""
        unwrap(self.modules.objective).set_step(self.optimizer_step)

    def _compile(self):
        """``--compile`` (or ``compile: True`` in the YAML) compiles the
        step by regions (see ``summary_ssl.brains.compile``) with
        SpeechBrain's ``compile_mode``, ``compile_using_fullgraph`` and
        ``compile_using_dynamic_shape_tracing``; without it, SpeechBrain's
        own ``_compile`` (jit, ``compile_module_keys``) runs."""
        if not self.compile:
            return super()._compile()
        if self.compile_module_keys is not None or self.jit:
            raise ValueError(
                "W2V2Brain compiles its own regions: compile_module_keys "
                "and jit are not supported with compile"
            )
        self.span_masker = compile_regions(
            unwrap(self.modules.wav2vec2),
            unwrap(self.modules.objective),
            mode=self.compile_mode,
            fullgraph=self.compile_using_fullgraph,
            dynamic=self.compile_using_dynamic_shape_tracing,
            backend=getattr(self.hparams, "compile_backend", "inductor"),
        )
