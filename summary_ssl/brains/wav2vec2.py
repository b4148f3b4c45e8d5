"""W2V2Brain: wav2vec 2.0 contrastive pretraining on SpeechBrain's Brain.

Expected ``modules``: ``wav2vec2`` (a
:class:`~summary_ssl.lobes.encoders.wav2vec2.Wav2Vec2Encoder`), ``objective`` (a
:class:`~summary_ssl.lobes.objectives.wav2vec2.W2V2Objective`) and, optionally,
``utterance_contrast`` (a
:class:`~summary_ssl.lobes.objectives.utterance_contrast.UtteranceContrast`,
run only when its weight is above 0; its weighted loss is added to the
objective's). Expected ``hparams``: ``mask_prob``, ``mask_length``,
``min_masks``, ``compile_backend``, ``lr_scheduler`` and those of
:class:`~summary_ssl.brains.pretraining.PretrainingBrain`, which holds the
training machinery (non-finite handling, accumulation, logs, cost, RNG
states, resume, DDP). This class adds the span masking, the encoder pass,
the losses, the Gumbel temperature, which follows the optimizer step, and
``torch.compile`` by regions (``compile: True``, see
:mod:`summary_ssl.brains.compile`; the utterance-level term is one more
region).

Authors
-------
* summary_ssl contributors 2026
"""

import speechbrain as sb

from summary_ssl.brains.compile import compile_regions
from summary_ssl.brains.hparams_checks import check_wav2vec2_hparams
from summary_ssl.brains.pretraining import PretrainingBrain, unwrap
from summary_ssl.lobes.augment.span_masking import (
    compute_span_mask,
    span_bounds,
)


class W2V2Brain(PretrainingBrain):
    """Brain for wav2vec 2.0 pretraining (see the module docstring)."""

    objective_checks = (check_wav2vec2_hparams,)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.span_masker = compute_span_mask  # compiled by _compile

    def compute_forward(self, batch, stage):
        """Masks frames and runs the encoder, all on the device: the span
        mask is drawn from the device's RNG with shapes fixed by the
        batch's (see ``summary_ssl.lobes.augment.span_masking``), so nothing
        here waits for the GPU."""
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
        # The utterance-level term may read a lower layer than the top
        # one (``context``): only that hidden state is asked for.
        term = self._utterance_term()
        layer = None if term is None else unwrap(term).layer
        out = self.modules.wav2vec2(
            wavs,
            wav_lens,
            mask=mask,
            output_hidden_states=[] if layer is None else [layer],
        )
        if layer is not None:
            out["utterance_context"] = out.pop("hidden_states")[0]
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
            min_masks=self.hparams.min_masks,
        )

    def _utterance_term(self):
        """The ``utterance_contrast`` module (as in ``modules``, so
        DDP-wrapped in a DDP run), or None when there is none or its
        weight is 0."""
        if "utterance_contrast" not in self.modules:
            return None
        term = self.modules.utterance_contrast
        return term if unwrap(term).weight > 0 else None

    def compute_objectives(self, predictions, batch, stage):
        """Contrastive + diversity (+ feature penalty) loss, plus the
        weighted utterance-level term when it is on (``utterance_loss``
        in the logs)."""
        out, mask = predictions
        _, num_slots = span_bounds(mask.shape[1], **self._mask_options())
        stats = self.modules.objective(
            out["context"],
            out["latents"],
            mask,
            out["features_pen"],
            num_slots=num_slots,
        )
        term = self._utterance_term()
        if term is not None:
            hidden = out.get("utterance_context", out["context"])
            if unwrap(term).bank_size:
                # The bank's keys: latents -> input projection (layer 0).
                utt = term(
                    hidden,
                    out["padding"],
                    out["latents"],
                    unwrap(self.modules.wav2vec2).input_proj,
                )
            else:
                utt = term(hidden, out["padding"])
            loss = stats.pop("loss") + unwrap(term).weight * utt
            stats = {"utterance_loss": utt.detach(), "loss": loss, **stats}
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
        backend = self.hparams.compile_backend
        self.span_masker = compile_regions(
            unwrap(self.modules.wav2vec2),
            unwrap(self.modules.objective),
            mode=self.compile_mode,
            fullgraph=self.compile_using_fullgraph,
            dynamic=self.compile_using_dynamic_shape_tracing,
            backend=backend,
        )
        term = self._utterance_term()
        if term is not None:
            # One more region, with compile_regions' options.
            options = dict(
                fullgraph=self.compile_using_fullgraph,
                dynamic=self.compile_using_dynamic_shape_tracing,
            )
            if backend == "inductor":
                options["mode"] = self.compile_mode
            else:
                options["backend"] = backend
            unwrap(term).compile(**options)
