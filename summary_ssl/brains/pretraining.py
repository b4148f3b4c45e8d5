"""PretrainingBrain: what every self-supervised objective's Brain shares.

The objectives (:class:`~summary_ssl.brains.wav2vec2.W2V2Brain`,
:class:`~summary_ssl.brains.teacher_student.TeacherStudentBrain`) subclass
it and write only what differs: ``compute_forward``,
``compute_objectives`` (which hands its statistics to
:meth:`PretrainingBrain.record_stats`), and, where needed, the hooks
``on_fit_batch_start`` (before each micro-batch) and
``on_optimizer_step`` (after each optimizer step). This is SpeechBrain's
own pattern (one Brain per recipe, overriding ``compute_forward`` and
``compute_objectives``), with the shared machinery in one base class
rather than copied.

What it adds to ``speechbrain.core.Brain`` (hooks keep their signatures):

* a non-finite loss (on any DDP rank) drops the optimizer step of its
  accumulation cycle on every rank, is counted, and stops training with a
  clear error after ``nonfinite_patience`` such batches in a row;
* the step never waits for the device but once per optimizer step, for
  that check (statistics, audio counts and the running loss are summed on
  the device and read when the step logs are written);
* a batch with no readable audio (a placeholder from
  :func:`~summary_ssl.dataio.readable_batches.collate_readable`) runs with
  its loss times zero: counted and logged, it keeps every DDP rank in
  every collective and the accumulation cycle aligned;
* the LR schedule (``lr_scheduler``, a SpeechBrain scheduler called as
  ``scheduler(optimizer)`` once per optimizer step) follows the optimizer
  step;
* only trainable parameters are optimized (an EMA teacher is a module
  without any);
* intra-epoch checkpoints only at optimizer-step boundaries, holding the
  RNG states, so a resumed run repeats an uninterrupted one exactly;
* step logs (JSON lines, ``train_log_file``, every ``log_interval``
  optimizer steps) and a cost report (``cost_file``); either file is not
  written when its key is null.

Every key a Brain reads is named in its ``required_hparams`` (the recipe
YAMLs declare them all): a YAML without one is an error when the Brain is
built, never a silent default, and a misspelt key is refused before then
(:mod:`summary_ssl.brains.hparams_keys`).

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
from speechbrain.utils.optimizers import rm_vector_weight_decay

from summary_ssl.brains.cost import CostTracker
from summary_ssl.brains.rng_state import RNGState
from summary_ssl.dataio.readable_batches import (
    is_epoch_padding,
    is_placeholder,
)

logger = logging.getLogger(__name__)


def unwrap(module):
    """The module inside a DDP/DP wrapper (or the module itself)."""
    return module.module if hasattr(module, "module") else module


def log_validation(brain, epoch, train_stats, valid_stats, **checkpoint):
    """Logs a validation with the epoch, the optimizer steps and the
    learning rate, then saves a checkpoint.

    Arguments
    ---------
    brain : speechbrain.core.Brain
        With ``hparams.train_logger``, ``optimizer`` and ``checkpointer``.
    epoch : int
        The epoch that ends.
    train_stats, valid_stats : dict
        Statistics of the epoch's training and of the validation.
    **checkpoint
        ``save_and_keep_only``'s arguments (``meta``, which to keep).

    Example
    -------
    >>> from unittest.mock import MagicMock
    >>> brain = MagicMock(optimizer_step=12)
    >>> brain.optimizer.param_groups = [{"lr": 0.1}]
    >>> log_validation(brain, 2, {"loss": 1.0}, {"loss": 0.5}, num_to_keep=1)
    >>> brain.hparams.train_logger.log_stats.call_args.kwargs["stats_meta"]
    {'epoch': 2, 'steps': 12, 'lr': 0.1}
    >>> brain.checkpointer.save_and_keep_only.call_args.kwargs
    {'num_to_keep': 1}
    """
    brain.hparams.train_logger.log_stats(
        stats_meta={
            "epoch": epoch,
            "steps": brain.optimizer_step,
            "lr": brain.optimizer.param_groups[0]["lr"],
        },
        train_stats=train_stats,
        valid_stats=valid_stats,
    )
    brain.checkpointer.save_and_keep_only(**checkpoint)


class PretrainingBrain(sb.core.Brain):
    """Base Brain for pretraining objectives (see the module docstring).

    A subclass that reads more keys names them in ``required_hparams``
    (this class's, plus its own), and the value checks of its objective's
    keys in ``objective_checks`` (run with the shared ones before
    anything is built: :func:`~summary_ssl.brains.hparams_checks.checks_for`).
    """

    objective_checks = ()

    required_hparams = (
        "lr_scheduler",
        "train_logger",
        "log_interval",
        "sample_rate",
        "train_log_file",
        "cost_file",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._check_required_hparams()
        self.rng_state = RNGState()
        world = dist.get_world_size() if dist.is_initialized() else 1
        self.cost = CostTracker(world_size=world)
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("rng", self.rng_state)
            self.checkpointer.add_recoverable("cost", self.cost)
        self.nonfinite_in_a_row = 0
        self.nonfinite_total = 0
        self.unreadable_batches = 0
        self.epoch_padding_batches = 0  # streamed shards, see shard_stream
        self._cycle_nonfinite = None  # device count of the cycle's NaN/inf
        self._loss_sum = self._loss_count = None  # see update_average
        self._read_loss_average = False
        self._stage = None  # the stage running (see update_average)
        self._reset_log_window()

    def _check_required_hparams(self):
        present = vars(self.hparams) if self.hparams is not None else {}
        missing = [k for k in self.required_hparams if k not in present]
        if missing:
            raise ValueError(
                f"{type(self).__name__} reads these keys, which the YAML "
                f"does not declare: {', '.join(missing)} (see the recipe "
                "YAMLs for their meaning and usual values)"
            )

    # -- what subclasses use --------------------------------------------

    def count_audio(self, batch, num_samples):
        """Adds a training batch's audio to the step log's throughput
        (nothing for a placeholder).

        Arguments
        ---------
        batch : speechbrain.dataio.batch.PaddedBatch
            The batch.
        num_samples : torch.Tensor
            (B,) lengths in samples, on any device: summed there, read at
            log time.
        """
        if is_placeholder(batch):
            return
        self._log_window["audio_samples"] += num_samples.sum()

    def record_stats(self, stats, batch, stage):
        """Keeps an objective's statistics for the logs; returns the loss.

        Training statistics are summed on the device and read (one sync)
        only at log time; validation ones are averaged per stage. A
        placeholder batch's are dropped, and its loss is multiplied by 0.

        Arguments
        ---------
        stats : dict of torch.Tensor
            Scalars, ``loss`` among them.
        batch : speechbrain.dataio.batch.PaddedBatch
            The batch they come from.
        stage : speechbrain.Stage
            The stage.

        Returns
        -------
        torch.Tensor
            ``stats["loss"]`` (times 0 for a placeholder).
        """
        if is_placeholder(batch):
            return stats["loss"] * 0.0  # runs, but counts for nothing
        if stage == sb.Stage.TRAIN:
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

    def on_optimizer_step(self):
        """Called after each optimizer step (``self.optimizer_step`` is
        the new count); nothing by default."""

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
        if is_epoch_padding(batch):
            self.epoch_padding_batches += 1  # by design: no warning
        elif is_placeholder(batch):
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
                self.on_optimizer_step()
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
        only after the epoch's first micro-batch, when the step logs are
        written, at the end of the epoch and before a checkpoint; in
        between, the progress bar shows the last value read. Validation
        losses take SpeechBrain's mean (they used to be summed into the
        training loss's, and the logged valid loss stayed 0).
        """
        if self._stage in (sb.Stage.VALID, sb.Stage.TEST):  # SB mean
            return super().update_average(loss, avg_loss)
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

    def _reset_log_window(self):
        self._log_window = {
            "audio_samples": 0,  # a device tensor once summed
            "start": time.time(),
            "batches": 0,
            "sums": {},
        }

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Writes a step log every ``log_interval`` optimizer steps."""
        interval = self.hparams.log_interval
        if not should_step or self.optimizer_step % interval:
            return
        window = self._log_window
        elapsed = time.time() - window["start"]
        audio = float(window["audio_samples"]) / self.hparams.sample_rate
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
            "epoch_padding_batches": self.epoch_padding_batches,
        }
        self._reset_log_window()
        self._read_loss_average = True  # synced now anyway
        log_file = self.hparams.train_log_file
        if log_file is not None and if_main_process():
            with open(log_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    # -- optimizer, checkpoints, stages, cost ----------------------------

    def init_optimizers(self):
        """SpeechBrain's, over the modules that have trainable parameters
        only (SpeechBrain's takes every parameter of every module)."""
        if self.opt_class is None:
            return super().init_optimizers()
        trainable = torch.nn.ModuleDict(
            {
                name: module
                for name, module in self.modules.items()
                if any(p.requires_grad for p in module.parameters())
            }
        )
        params = (
            rm_vector_weight_decay(trainable)
            if self.remove_vector_weight_decay
            else trainable.parameters()
        )
        self.optimizer = self.opt_class(params)
        self.optimizers_dict = {"opt_class": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

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
        self._stage = stage
        if stage == sb.Stage.TRAIN:
            self._loss_sum = self._loss_count = None
            # The first micro-batch's loss is read (one host sync per
            # epoch), so the progress bar never shows a made-up 0.
            self._read_loss_average = True

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
            log_validation(
                self,
                epoch,
                {"loss": getattr(self, "train_loss", None)},
                means,
                meta={"valid_loss": stage_loss},
                end_of_epoch=True,
                num_to_keep=1,
            )
        self.stage_stats = means

    def fit(self, *args, **kwargs):
        """SpeechBrain's fit, then the cost report."""
        super().fit(*args, **kwargs)
        cost_file = self.hparams.cost_file
        if cost_file is not None and if_main_process():
            self.cost.write(cost_file)
