"""W2V2Brain: wav2vec 2.0 contrastive pretraining on SpeechBrain's Brain.

Expected ``modules``: ``wav2vec2`` (a
:class:`~summary_ssl.lobes.wav2vec2.Wav2Vec2Encoder`) and ``objective``
(a :class:`~summary_ssl.lobes.w2v_objective.W2V2Objective`). Expected
``hparams``: ``mask_prob``, ``mask_length``, ``lr_scheduler`` (a
SpeechBrain scheduler called as ``scheduler(optimizer)`` once per
optimizer step), and optionally ``log_interval`` (optimizer steps between
step logs), ``min_masks``, ``train_log_file`` and ``cost_file``.

What it adds to ``speechbrain.core.Brain`` (hooks keep their signatures):

* a non-finite loss (on any DDP rank) drops the optimizer step of its
  accumulation cycle on every rank, is counted, and stops training with a
  clear error after ``nonfinite_patience`` such batches in a row;
* the step never waits for the device but once per optimizer step (that
  check), and can be compiled by regions (``compile: True``, see
  :mod:`summary_ssl.brains.compile`);
* the LR schedule and the Gumbel temperature follow the optimizer step;
* intra-epoch checkpoints only at optimizer-step boundaries, holding the
  RNG states, so a resumed run repeats an uninterrupted one exactly;
* a batch with no readable audio (a placeholder from
  :func:`~summary_ssl.dataio.readable_batches.collate_readable`) runs with
  its loss times zero: counted and logged, it keeps every DDP rank in
  every collective and the accumulation cycle aligned;
* step logs (JSON lines) and a cost report (``cost.json``).

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import time

import speechbrain as sb
import torch
import torch.distributed as dist
from speechbrain.utils.distributed import if_main_process

from summary_ssl.brains.compile import compile_regions
from summary_ssl.brains.cost import CostTracker
from summary_ssl.brains.rng_state import RNGState
from summary_ssl.dataio.readable_batches import is_placeholder
from summary_ssl.lobes.span_masking import compute_span_mask, span_bounds

logger = logging.getLogger(__name__)


def _unwrap(module):
    return module.module if hasattr(module, "module") else module


class W2V2Brain(sb.core.Brain):
    """Brain for wav2vec 2.0 pretraining (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rng_state = RNGState()
        world = dist.get_world_size() if dist.is_initialized() else 1
        self.cost = CostTracker(world_size=world)
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("rng", self.rng_state)
            self.checkpointer.add_recoverable("cost", self.cost)
        self.nonfinite_in_a_row = 0
        self.nonfinite_total = 0
        self._cycle_nonfinite = None  # device count of the cycle's NaN/inf
        self._loss_sum = self._loss_count = None  # see update_average
        self._read_loss_average = False
        self.span_masker = compute_span_mask  # compiled by _compile
        self.unreadable_batches = 0
        self._reset_log_window()

    # -- forward and loss ----------------------------------------------

    def compute_forward(self, batch, stage):
        """Masks frames and runs the encoder, all on the device: the span
        mask is drawn from the device's RNG with shapes fixed by the
        batch's (see ``summary_ssl.lobes.span_masking``), so nothing here
        waits for the GPU."""
        wavs, wav_lens = batch.sig
        wavs = wavs.to(self.device, non_blocking=True)
        wav_lens = wav_lens.to(self.device, non_blocking=True)
        model = _unwrap(self.modules.wav2vec2)
        samples = model.sample_lengths(wavs, wav_lens)
        max_frames = int(model.frontend.output_lengths(wavs.shape[1]))
        mask = self.span_masker(
            model.frontend.output_lengths(samples),
            max_frames,
            **self._mask_options(),
        )
        if stage == sb.Stage.TRAIN and not is_placeholder(batch):
            # read at log time only
            self._log_window["audio_samples"] += samples.sum()
        out = self.modules.wav2vec2(
            wavs, wav_lens, mask=mask, output_hidden_states=False
        )
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
        stats = self.modules.objective(
            out["context"],
            out["latents"],
            mask,
            out["features_pen"],
            num_slots=num_slots,
        )
        if is_placeholder(batch):
            return stats["loss"] * 0.0  # runs, but counts for nothing
        if stage == sb.Stage.TRAIN:
            # Summed on the device: read (one sync) only at log time.
            window = self._log_window
            window["batches"] += 1
            for key, value in stats.items():
                value = value.detach().float()
                total = window["sums"].get(key)
                window["sums"][key] = value if total is None else total + value
        else:
            self.valid_stats.append(
                {k: float(v) for k, v in stats.items() if k != "loss"}
            )
        return stats["loss"]

    # -- training step ---------------------------------------------------

    def fit_batch(self, batch):
        """One micro-batch; an optimizer step every
        ``grad_accumulation_factor`` micro-batches (DDP ``no_sync`` on the
        others). A non-finite loss drops the optimizer step of its
        accumulation cycle (the cycle's gradients are discarded). A batch
        with no readable audio (a placeholder, see
        ``summary_ssl.dataio.readable_batches``) runs like any other with
        a zero loss, so all ranks stay in step.

        The host reads one number from the device per optimizer step (how
        many of the cycle's losses were non-finite, on any rank), at the
        stepping micro-batch, after its backward is queued; nothing else
        in the step waits for the GPU."""
        if is_placeholder(batch):
            self.unreadable_batches += 1
            logger.warning(
                "A batch with no readable audio at step %d runs as a "
                "zero-loss placeholder (%d so far).",
                self.optimizer_step,
                self.unreadable_batches,
            )
        self.rng_state.apply_pending()
        should_step = self.step % self.grad_accumulation_factor == 0
        self.on_fit_batch_start(batch, should_step)
        with self.no_sync(not should_step):
            with self.training_ctx:
                outputs = self.compute_forward(batch, sb.Stage.TRAIN)
                loss = self.compute_objectives(outputs, batch, sb.Stage.TRAIN)
            self._count_nonfinite(loss)
            # A non-finite loss still runs its backward (on every rank, so
            # DDP's reducer stays in step); its gradients are dropped below.
            self.scaler.scale(loss / self.grad_accumulation_factor).backward()
        stepped = False
        if should_step:
            nonfinite = int(self._cycle_nonfinite)  # the step's one sync
            self._cycle_nonfinite = None
            if nonfinite:
                self._skip_nonfinite(nonfinite)
            else:
                self.nonfinite_in_a_row = 0
                self.step_lr = self.optimizer.param_groups[0]["lr"]
                self.optimizers_step()
                self.hparams.lr_scheduler(self.optimizer)  # next step's LR
                stepped = True
        self.on_fit_batch_end(batch, outputs, loss, stepped)
        if is_placeholder(batch):
            return torch.tensor(float("nan"))  # not in the running mean
        return loss.detach()

    def evaluate_batch(self, batch, stage):
        """SpeechBrain's, but skips a batch with no readable audio."""
        if is_placeholder(batch):
            logger.warning("Skipped a validation batch with no readable audio.")
            return torch.tensor(getattr(self, "_last_eval_loss", 0.0))
        loss = super().evaluate_batch(batch, stage)
        self._last_eval_loss = float(loss)
        return loss

    def _count_nonfinite(self, loss):
        """Adds 1 on the device to the cycle's count when the loss is
        non-finite on any rank (an all-reduce, which does not block the
        host), so all ranks skip the same steps."""
        bad = (~torch.isfinite(loss.detach())).to(torch.int32)
        if dist.is_initialized():
            dist.all_reduce(bad, op=dist.ReduceOp.MAX)
        if self._cycle_nonfinite is not None:
            bad = bad + self._cycle_nonfinite
        self._cycle_nonfinite = bad

    def _skip_nonfinite(self, count):
        self.nonfinite_in_a_row += count
        self.nonfinite_total += count
        self.zero_grad(set_to_none=True)
        logger.warning(
            "%d non-finite loss(es) in the accumulation cycle of step %d: "
            "its optimizer step is skipped (%d in a row, %d in total).",
            count,
            self.optimizer_step + 1,
            self.nonfinite_in_a_row,
            self.nonfinite_total,
        )
        if self.nonfinite_in_a_row > self.nonfinite_patience:
            raise RuntimeError(
                f"{self.nonfinite_in_a_row} non-finite losses in a row "
                f"(nonfinite_patience={self.nonfinite_patience}). Try a "
                "lower lr, precision: bf16 instead of fp16, or a longer "
                "warmup."
            )

    def update_average(self, loss, avg_loss):
        """The running mean of the training loss, summed on the device.

        SpeechBrain's reads every loss on the host (a synchronisation per
        micro-batch). Here the mean over the epoch's finite losses is read
        only when the step logs are written, at the end of the epoch and
        before a checkpoint; in between, the progress bar shows the last
        value read.
        """
        if self._loss_sum is None:  # epoch start, or resumed mid-epoch
            before = max(self.step - 1, 0)
            self._loss_sum = torch.tensor(
                avg_loss * before, dtype=torch.float64, device=loss.device
            )
            self._loss_count = torch.tensor(before, device=loss.device)
        finite = torch.isfinite(loss)
        self._loss_sum += torch.where(finite, loss.double(), 0.0)
        self._loss_count += finite.long()
        if self._read_loss_average:
            self._read_loss_average = False
            return self._loss_average()
        return avg_loss

    def _loss_average(self):
        if self._loss_sum is None:
            return self.avg_train_loss
        return float(self._loss_sum / self._loss_count.clamp_min(1))

    def _save_intra_epoch_ckpt(self):
        """SpeechBrain's, with the running loss read first."""
        self.avg_train_loss = self._loss_average()
        super()._save_intra_epoch_ckpt()

    def on_fit_batch_start(self, batch, should_step):
        """Anneals the Gumbel temperature to the current optimizer step."""
        _unwrap(self.modules.objective).set_step(self.optimizer_step)

    def _reset_log_window(self):
        self._log_window = {
            "audio_samples": 0,  # a device tensor once summed
            "start": time.time(),
            "batches": 0,
            "sums": {},
        }

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Writes a step log every ``log_interval`` optimizer steps."""
        interval = getattr(self.hparams, "log_interval", 50)
        if not should_step or self.optimizer_step % interval:
            return
        window = self._log_window
        elapsed = time.time() - window["start"]
        sample_rate = getattr(self.hparams, "sample_rate", 16000)
        audio = float(window["audio_samples"]) / sample_rate
        audio *= self.cost.world_size
        batches = max(window["batches"], 1)
        record = {
            "step": self.optimizer_step,
            # Means over the micro-batches since the last log.
            **{k: float(v) / batches for k, v in window["sums"].items()},
            "lr": self.step_lr,  # the LR this step used
            "audio_hours_per_step": audio / 3600 / interval,
            "audio_seconds_per_second": audio / max(elapsed, 1e-9),
            "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30
            if torch.cuda.is_available()
            else None,
            "nonfinite_skipped": self.nonfinite_total,
            "unreadable_batches": self.unreadable_batches,
        }
        self._reset_log_window()
        self._read_loss_average = True  # synced now anyway
        log_file = getattr(self.hparams, "train_log_file", None)
        if log_file is not None and if_main_process():
            with open(log_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    # -- checkpoints, stages, cost ------------------------------------------

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
            _unwrap(self.modules.wav2vec2),
            _unwrap(self.modules.objective),
            mode=self.compile_mode,
            fullgraph=self.compile_using_fullgraph,
            dynamic=self.compile_using_dynamic_shape_tracing,
            backend=getattr(self.hparams, "compile_backend", "inductor"),
        )

    def on_fit_start(self):
        """Builds optimizers, recovers, and sets the first step's LR."""
        super().on_fit_start()
        self.cost.start()
        if self.optimizer_step == 0 and self.optimizer is not None:
            scheduler = self.hparams.lr_scheduler
            if getattr(scheduler, "current_step", 1) == 0:
                scheduler(self.optimizer)  # LR of step 1 (warmup start)

    def _should_save_intra_epoch_ckpt(self, last_ckpt_time, steps_since_ckpt):
        """Only between optimizer steps: accumulated gradients are not
        part of a checkpoint."""
        if self.step % self.grad_accumulation_factor:
            return False
        return super()._should_save_intra_epoch_ckpt(
            last_ckpt_time, steps_since_ckpt
        )

    def make_dataloader(self, dataset, stage, ckpt_prefix="dataloader-", **kw):
        """As SpeechBrain, but a batch sampler with ``set_epoch`` (e.g.
        ``DynamicBatchSampler``) gets its epoch set when not distributed
        (SpeechBrain only does that for its own samplers)."""
        loader = super().make_dataloader(dataset, stage, ckpt_prefix, **kw)
        batch_sampler = kw.get("batch_sampler")
        if (
            stage == sb.Stage.TRAIN
            and self.train_sampler is None
            and hasattr(batch_sampler, "set_epoch")
        ):
            self.train_sampler = batch_sampler
        return loader

    def on_stage_start(self, stage, epoch=None):
        """Resets validation statistics and the running training loss."""
        self.valid_stats = []
        if stage == sb.Stage.TRAIN:
            self._loss_sum = self._loss_count = None

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs epoch statistics; saves a checkpoint after validation."""
        if stage == sb.Stage.TRAIN:
            self.train_loss = self._loss_average()  # stage_loss may be stale
            return
        means = {
            key: sum(s[key] for s in self.valid_stats) / len(self.valid_stats)
            for key in (self.valid_stats[0] if self.valid_stats else {})
        }
        means["loss"] = stage_loss
        if stage == sb.Stage.VALID:
            self.hparams.train_logger.log_stats(
                stats_meta={
                    "epoch": epoch,
                    "steps": self.optimizer_step,
                    "lr": self.optimizer.param_groups[0]["lr"],
                },
                train_stats={"loss": getattr(self, "train_loss", None)},
                valid_stats=means,
            )
            self.checkpointer.save_and_keep_only(
                meta={"valid_loss": stage_loss},
                end_of_epoch=True,
                num_to_keep=1,
            )
        self.stage_stats = means

    def fit(self, *args, **kwargs):
        """SpeechBrain's fit, then the cost report."""
        super().fit(*args, **kwargs)
        cost_file = getattr(self.hparams, "cost_file", None)
        if cost_file is not None and if_main_process():
            self.cost.write(cost_file)
