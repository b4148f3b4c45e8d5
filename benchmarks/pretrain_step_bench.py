#!/usr/bin/env python3
"""Full wav2vec 2.0 pretraining step: our three recipes vs SpeechBrain's.

In one process and one run, this times ONE FULL OPTIMIZER STEP (masking,
forward, objective, backward, gradient clipping, AdamW step, zero_grad)
of each model below at a fixed audio budget per micro-batch, for each
utterance length L, and prints one markdown table per L with the time,
the throughput in audio-seconds per second, the ratio to SpeechBrain's
stock wav2vec2-base step measured in the same run, peak memory and MFU.

Models (``--models`` picks a subset, comma-separated):

* ``sb-wav2vec2-base``: SpeechBrain 1.1.2's own wav2vec 2.0 BASE, built
  from its classes as SpeechBrain's recipe
  ``recipes/LibriSpeech/self-supervised-learning/wav2vec2/`` builds it
  (``hparams/wav2vec2_base.yaml`` for the model, loss and optimizer;
  ``train_sb_wav2vec2.py`` for the step): ``W2VLatentExtractor`` (7 convs,
  512 channels, kernels 11,3,3,3,3,3,3, strides 5,2,2,2,2,2,2),
  ``EncoderWrapper`` around a 12 x 768 ``TransformerEncoder`` (8 heads,
  FFN 3072, GELU, pre-LN, dropout 0.1, layerdrop 0.05),
  ``W2VTargetQuantiser`` (2 x 320 codes, 256-d), a 768 -> 256 projection,
  ``compute_mask`` (0.65 / 10, in the data loader's collate function, so
  outside the timed step here too), ``sample_negatives`` (100),
  ``ContrastiveLoss(logit_temp=0.1)`` + 0.1 x diversity loss x masked
  frames, AdamW (lr 5e-4, weight decay 0.01, eps 1e-6), gradient clipping
  at 100, ``WarmCoolDecayLRSchedule``. About 91M parameters. It is the
  baseline of the ratio column and is never compiled.
* ``summarymixing_w2v2``, ``flash_conformer_w2v2``, ``mhsa_conformer_w2v2``:
  our recipe YAMLs (``recipes/LibriSpeech/self-supervised-learning/wav2vec2
  /hparams/<name>.yaml``), loaded with hyperpyyaml, stepped by our
  ``W2V2Brain.fit_batch`` itself (span mask and negatives drawn on the
  device, forward and objective under autocast, backward, clipping
  at the YAML's ``max_grad_norm``, AdamW as the YAML builds it, zero_grad,
  LR schedule, Gumbel temperature, and the Brain's own host-side checks
  and statistics).

Both kinds of step go through SpeechBrain's ``Brain.optimizers_step`` and
``update_average`` as ``Brain.fit`` would call them; data loading,
checkpointing and progress bars are not timed.

Method (see the workplace's device METHOD.md): random-normal waveforms
(never zeros) at 16 kHz, ``--batch-seconds`` of audio per micro-batch
(default 200 s, SpeechBrain's recipe per-GPU batch): batch = round(budget /
(0.85 L)) utterances, lengths uniform in [0.7 L, L] with the first one L,
zero-padded, with relative lengths; the same batches for every model at a
given L, rotated over ``--pool`` different batches. bf16 autocast by
default. ``--warmup`` steps, then ``--iters`` timed steps, each between two
CUDA events; the MEDIAN is reported. Peak memory is
``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` over
the timed steps and one step before them. MFU: FLOPs of one full optimizer
step counted by ``torch.utils.flop_counter.FlopCounterMode`` (matmuls,
convolutions, SDPA; forward and backward; the padded batch as executed;
layerdrop off for the count), divided by the median step time and
``--peak-tflops``. A cell that runs out of memory prints ``OOM`` and the
run goes on.

On CPU it runs too (``time.perf_counter``, no memory statistics) so it can
be smoke-tested; CPU numbers are NOT the benchmark.

Example (GPU, defaults)::

    python benchmarks/pretrain_step_bench.py --json $OUT/step.json

Authors
-------
* summary_ssl contributors 2026
"""

import functools
import math
import random
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch
import yaml

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
for _path in (_REPO, _HERE):  # run from a checkout without installing
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

try:
    # Timing and reporting helpers shared with the encoder microbenchmark.
    import bench_common as common
    import speechbrain as sb
    from hyperpyyaml import load_hyperpyyaml
    from profile_step import profile_markdown, profile_step
    from speechbrain.lobes.models.wav2vec import compute_mask, sample_negatives

    from summary_ssl.brains.wav2vec2 import W2V2Brain
    from summary_ssl.utils.torch_flops import flop_counter
except ImportError as _error:  # pragma: no cover - GPU machine set-up
    raise SystemExit(
        f"pretrain_step_bench needs speechbrain 1.1.2, hyperpyyaml and "
        f"summary_ssl ({_error}). On the GPU machine, carry the wheels: see "
        "benchmarks/README.md."
    ) from _error

BASELINE = "sb-wav2vec2-base"
OURS = ("summarymixing_w2v2", "flash_conformer_w2v2", "mhsa_conformer_w2v2")
MODELS = (BASELINE,) + OURS
RECIPE_DIR = (
    _REPO / "recipes/LibriSpeech/self-supervised-learning/wav2vec2/hparams"
)
SAMPLE_RATE = 16000
PRECISIONS = ("bf16", "fp16", "fp32")
TARGET_RATIO = 2.0  # the goal for summarymixing_w2v2

# ---------------------------------------------------------------------------
# SpeechBrain's stock wav2vec2-base
# ---------------------------------------------------------------------------

# The model, loss, optimizer and schedule of SpeechBrain's recipe
# recipes/LibriSpeech/self-supervised-learning/wav2vec2/hparams/
# wav2vec2_base.yaml (speechbrain/speechbrain repository), written out here
# because the recipe is not part of the pip package. Its values: embedding
# 768, extractor 512 (7 convs, kernels [11,3,3,3,3,3,3], strides
# [5,2,2,2,2,2,2]: W2VLatentExtractor's defaults), final_dim 256, 12 layers,
# 8 heads, FFN 3072, dropout 0.1, GELU, normalize_before (pre-LN), layerdrop
# 0.05, encoder-input dropout 0.1, W2VTargetQuantiser with its defaults
# (320 codes per group), ContrastiveLoss logit_temp 0.1, diversity weight
# 0.1, mask 0.65 / 10, 100 negatives, AdamW lr 5e-4 / weight decay 0.01 /
# eps 1e-6, max_grad_norm 100, WarmCoolDecayLRSchedule (warmup 30k, cooldown
# 370k, 400k steps). The keys that are not in the recipe (conv_dim,
# num_layers, nhead, d_ffn, dropout, quantiser_vars) are the recipe's
# literals, named so that ``--sb-set`` can shrink the model.
SB_BASE_YAML = """
embedding_dim: 768
extractor_dim: 512
conv_dim: 512
final_dim: 256
num_layers: 12
nhead: 8
d_ffn: 3072
dropout: 0.1
encoder_layerdrop: 0.05
latentextractor_kernels: [11, 3, 3, 3, 3, 3, 3]
latentextractor_strides: [5, 2, 2, 2, 2, 2, 2]
quantiser_vars: 320
mask_prob: 0.65
mask_length: 10
num_negatives: 100
diversity_loss_weight: 0.1
logit_temp: 0.1
lr: 0.0005
weight_decay: 0.01
max_grad_norm: 100.0
warmup: 30000
cooldown: 370000
optimizer_step_limit: 400000

extractor: !new:speechbrain.lobes.models.wav2vec.W2VLatentExtractor
    kernel_sizes: !ref <latentextractor_kernels>
    strides: !ref <latentextractor_strides>
    out_channels:
        - !ref <conv_dim>
        - !ref <conv_dim>
        - !ref <conv_dim>
        - !ref <conv_dim>
        - !ref <conv_dim>
        - !ref <extractor_dim>
        - !ref <extractor_dim>

encoder: !new:speechbrain.lobes.models.transformer.Transformer.TransformerEncoder
    d_model: !ref <embedding_dim>
    num_layers: !ref <num_layers>
    nhead: !ref <nhead>
    d_ffn: !ref <d_ffn>
    dropout: !ref <dropout>
    layerdrop_prob: !ref <encoder_layerdrop>
    normalize_before: True
    activation: !name:torch.nn.GELU

encoder_wrapper: !new:speechbrain.lobes.models.wav2vec.EncoderWrapper
    in_dim: !ref <extractor_dim>
    embedding_dim: !ref <embedding_dim>
    latent_encoder: !ref <encoder>
    dropout_encoder_input: 0.1

target_quantiser: !new:speechbrain.lobes.models.wav2vec.W2VTargetQuantiser
    in_dim: !ref <extractor_dim>
    out_dim: !ref <final_dim>
    num_vars: !ref <quantiser_vars>

feat_proj: !new:torch.nn.Linear
    in_features: !ref <embedding_dim>
    out_features: !ref <final_dim>

modules:
    latent_extractor: !ref <extractor>
    latent_encoder: !ref <encoder_wrapper>
    feat_proj: !ref <feat_proj>
    target_quantiser: !ref <target_quantiser>

loss: !new:speechbrain.nnet.losses.ContrastiveLoss
    logit_temp: !ref <logit_temp>

optimizer: !name:torch.optim.AdamW
    lr: !ref <lr>
    weight_decay: !ref <weight_decay>
    eps: 0.000001

lr_scheduler: !new:speechbrain.nnet.schedulers.WarmCoolDecayLRSchedule
    lr: !ref <lr>
    warmup: !ref <warmup>
    cooldown: !ref <cooldown>
    total_steps: !ref <optimizer_step_limit>
"""  # noqa: E501 (a YAML class path)


class SBStockW2V2Brain(sb.core.Brain):
    """The training step of SpeechBrain's recipe ``train_sb_wav2vec2.py``
    (its ``W2V2Brain``), re-expressed for SpeechBrain 1.1.2.

    ``batch`` is what the recipe's collate function
    (``w2v_mask_collate_fn``) yields: ``(wavs, wav_lens, mask)`` with the
    waveforms layer-normalised per utterance and the mask from
    ``compute_mask``. Differences from the recipe: the autocast context is
    the Brain's ``training_ctx`` (what ``--precision`` selects; the recipe
    builds the same ``torch.autocast`` itself), and the every-N-steps
    logging (``log_interval`` 1000 in the recipe) is left out.
    """

    def compute_forward(self, batch, stage):
        """Extractor -> masked Transformer -> projections and quantiser."""
        wavs, wav_lens, mask = (t.to(self.device) for t in batch)
        batch_size = wavs.shape[0]
        latents = self.modules.latent_extractor(wavs, normalize_signal=False)
        out = self.modules.latent_encoder(latents, mask=mask, wav_lens=wav_lens)
        # compute_mask gives every utterance the same number of masked
        # frames, so the masked frames reshape to (B, M, C).
        picked = self.modules.feat_proj(out["embeddings"][mask])
        out["embeddings"] = picked.view(batch_size, -1, picked.shape[-1])
        masked_latents = latents[mask].view(batch_size, -1, latents.shape[-1])
        targets, meta = self.modules.target_quantiser(masked_latents)
        out.update(meta)
        out["targets"] = targets
        return out

    def compute_objectives(self, predictions, batch, stage):
        """Contrastive loss (summed) + weight x diversity x masked frames."""
        targets = predictions["targets"]
        negatives = sample_negatives(targets, self.hparams.num_negatives)
        loss, _ = self.hparams.loss(
            predictions["embeddings"], targets, negatives
        )
        weight = self.hparams.diversity_loss_weight
        if weight:
            loss = loss + (
                predictions["diversity_loss"]
                * weight
                * predictions["num_masked"]
            )
        return loss

    def fit_batch(self, batch):
        """One micro-batch; an optimizer step every
        ``grad_accumulation_factor`` of them."""
        should_step = self.step % self.grad_accumulation_factor == 0
        with self.no_sync(not should_step):
            with self.training_ctx:
                outputs = self.compute_forward(batch, sb.Stage.TRAIN)
                loss = self.compute_objectives(outputs, batch, sb.Stage.TRAIN)
            self.scaler.scale(loss / self.grad_accumulation_factor).backward()
        if should_step:
            self.optimizers_step()
            self.modules.target_quantiser.quantiser.update_temp(
                self.optimizer_step
            )
            self.hparams.lr_scheduler(self.optimizer, self.optimizer_step)
        return loss.detach()


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def batch_plan(utt_seconds, batch_seconds):
    """Utterances per micro-batch: round(budget / mean length), at least 1
    (mean of U[0.7 L, L] is 0.85 L)."""
    return max(1, round(batch_seconds / (0.85 * utt_seconds)))


def make_pool(utt_seconds, batch_seconds, pool, seed):
    """``pool`` batches of random-normal waveforms for utterance length L.

    Every batch has the same number of utterances and the same padded
    length (its first utterance is L long), so shapes are fixed within a
    cell; the others are uniform in [0.7 L, L].

    Returns
    -------
    list of dict
        ``wavs`` (B, N) float32 zero-padded, ``lengths`` (B,) samples.
    """
    batch = batch_plan(utt_seconds, batch_seconds)
    longest = int(round(utt_seconds * SAMPLE_RATE))
    shortest = math.ceil(0.7 * longest)
    batches = []
    for index in range(pool):
        gen = torch.Generator().manual_seed(
            seed * 1000003 + index * 7919 + longest
        )
        lengths = torch.randint(shortest, longest + 1, (batch,), generator=gen)
        lengths[0] = longest
        wavs = torch.zeros(batch, longest)
        for row, n in enumerate(lengths.tolist()):
            # speech-like amplitude; never zeros on the real samples
            wavs[row, :n] = 0.1 * torch.randn(n, generator=gen)
        batches.append({"wavs": wavs, "lengths": lengths})
    return batches


def _pin(tensor, device):
    return tensor.pin_memory() if device.type == "cuda" else tensor


def ours_batches(pool, device):
    """Our recipe's batches: ``batch.id`` and ``batch.sig = (wavs,
    relative lengths)``, as SpeechBrain's ``PaddedBatch`` gives them to
    ``W2V2Brain``."""
    out = []
    for item in pool:
        wavs = item["wavs"]
        rel = item["lengths"].float() / wavs.shape[1]
        out.append(
            types.SimpleNamespace(
                id=[f"utt{i}" for i in range(len(wavs))],
                sig=(_pin(wavs, device), _pin(rel, device)),
            )
        )
    return out


def sb_batches(pool, extractor, hparams, seed, device):
    """SpeechBrain's recipe batches ``(wavs, wav_lens, mask)``: each
    waveform layer-normalised over its own samples (the recipe's audio
    pipeline) and the mask from ``compute_mask`` (its collate function:
    every utterance gets the shortest one's number of spans). Both run in
    the recipe's data-loader workers, so they are not timed here."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    out = []
    for item in pool:
        wavs = torch.zeros_like(item["wavs"])
        lengths = item["lengths"]
        for row, n in enumerate(lengths.tolist()):
            sig = item["wavs"][row, :n]
            wavs[row, :n] = torch.nn.functional.layer_norm(sig, sig.shape)
        frames = extractor.get_output_lengths(lengths)
        try:
            mask = compute_mask(
                (len(lengths), int(frames.max())),
                frames.tolist(),
                hparams["mask_prob"],
                hparams["mask_length"],
            )
        except ValueError as error:  # numpy: sample larger than population
            raise ValueError(
                f"SpeechBrain's compute_mask failed ({error}): it needs "
                "every utterance to hold the shortest one's spans (about "
                "1.2 s at mask_length 10; its recipe drops utterances under "
                "1.5 s). Use longer --utt-seconds or a smaller "
                "--sb-set mask_length."
            ) from error
        mask = torch.as_tensor(mask, dtype=torch.bool)
        rel = lengths.float() / wavs.shape[1]
        out.append(tuple(_pin(t, device) for t in (wavs, rel, mask)))
    return out


# ---------------------------------------------------------------------------
# Building the models
# ---------------------------------------------------------------------------


def _parse_overrides(items, parser):
    """``key=value`` (all our recipes) or ``model:key=value`` items ->
    ({key: value}, {model: {key: value}}); values are parsed as YAML."""
    common, per_model = {}, {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"override {item!r} is not key=value")
        target = common
        if ":" in key:
            model, key = key.split(":", 1)
            if model not in MODELS:
                parser.error(f"override {item!r}: unknown model {model!r}")
            target = per_model.setdefault(model, {})
        target[key] = yaml.safe_load(value)
    return common, per_model


def _new_brain(brain_class, hparams, args, device):
    """A ``brain_class`` Brain of the YAML's modules and optimizer, with
    the run options of the command line (no checkpointer)."""
    return brain_class(
        modules=hparams["modules"],
        opt_class=hparams["optimizer"],
        hparams=hparams,
        run_opts={
            "device": str(device),
            "precision": args.precision,
            "grad_accumulation_factor": args.grad_accum,
            "max_grad_norm": float(hparams["max_grad_norm"]),
        },
        checkpointer=None,
    )


def _adamw(opt_partial, fused):
    """The YAML's AdamW partial, with ``fused=True`` when asked."""
    if not fused:
        return opt_partial
    return functools.partial(opt_partial, fused=True)


def _init_optimizer(brain, fused, device):
    """``Brain.init_optimizers`` with the AdamW as the YAML builds it, fused
    on CUDA if asked and supported (else torch's default, foreach on CUDA).
    Returns a short description."""
    base = brain.opt_class
    if fused and device.type == "cuda":
        brain.opt_class = _adamw(base, True)
        try:
            brain.init_optimizers()
            return "AdamW fused"
        except (RuntimeError, TypeError, ValueError) as error:
            print(f"    fused AdamW unavailable ({error}); foreach instead")
            brain.opt_class = base
    brain.init_optimizers()
    return "AdamW (torch default)"


def build_sb_baseline(args, device, tmp):
    """SpeechBrain's stock wav2vec2-base in an ``SBStockW2V2Brain``."""
    torch.manual_seed(args.seed)
    hparams = load_hyperpyyaml(SB_BASE_YAML, dict(args.sb_overrides))
    brain = _new_brain(SBStockW2V2Brain, hparams, args, device)
    fused = args.fused_adamw == "all"
    info = {
        "optimizer": _init_optimizer(brain, fused, device),
        "encoder_params_M": _params_M(
            [hparams["extractor"], hparams["encoder_wrapper"]]
        ),
        "config": {
            k: v
            for k, v in hparams.items()
            if isinstance(v, (int, float, str, list))
        },
    }
    return brain, hparams, info


def build_ours(name, args, device, tmp):
    """One of our recipes, from its YAML, in our ``W2V2Brain``."""
    path = Path(args.recipe_dir) / f"{name}.yaml"
    overrides = {
        "data_folder": str(Path(tmp) / "data"),
        "output_folder": str(Path(tmp) / name),
        "seed": args.seed,
        **args.overrides,
        **args.model_overrides.get(name, {}),
    }
    torch.manual_seed(args.seed)
    with open(path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    brain = _new_brain(W2V2Brain, hparams, args, device)
    fused = args.fused_adamw in ("ours", "all")
    info = {
        "optimizer": _init_optimizer(brain, fused, device),
        "encoder_params_M": _params_M([hparams["wav2vec2"]]),
        "yaml": str(path),
        "overrides": {k: v for k, v in overrides.items() if k != "seed"},
    }
    return brain, hparams, info


def _params_M(modules):
    return sum(p.numel() for m in modules for p in m.parameters()) / 1e6


# ---------------------------------------------------------------------------
# One cell
# ---------------------------------------------------------------------------


class _Stepper:
    """Runs optimizer steps (``grad_accum`` micro-batches each) the way
    ``Brain._fit_train`` drives ``fit_batch``, cycling over the batches."""

    def __init__(self, brain, batches, grad_accum):
        self.brain = brain
        self.batches = batches
        self.grad_accum = grad_accum
        self.next = 0
        self.last_loss = None

    def step(self):
        brain = self.brain
        for _ in range(self.grad_accum):
            batch = self.batches[self.next % len(self.batches)]
            self.next += 1
            brain.step += 1
            loss = brain.fit_batch(batch)
            brain.avg_train_loss = brain.update_average(
                loss, brain.avg_train_loss
            )
            self.last_loss = loss


def _count_flops(stepper, modules):
    """FLOPs of one optimizer step (FlopCounterMode: matmuls, convs, SDPA,
    forward and backward), with layerdrop switched off for the count."""
    saved = []
    for module in modules.modules():
        if getattr(module, "layerdrop_prob", 0.0):
            saved.append((module, module.layerdrop_prob))
            module.layerdrop_prob = 0.0
    try:
        # torch's formula miscounts grouped-conv gradients: corrected there.
        with flop_counter() as counter:
            stepper.step()
    finally:
        for module, prob in saved:
            module.layerdrop_prob = prob
    return int(counter.get_total_flops())


def _compile_brain(brain, args):
    """Our Brain's own compilation (``W2V2Brain._compile``: regions, with
    the YAML's compile options; ``--compile-backend`` overrides the
    backend), as ``--compile=True`` gives it in the recipe."""
    brain.compile = True
    if args.compile_backend:
        brain.hparams.compile_backend = args.compile_backend
    brain._compile()
    return {
        "dynamic": brain.compile_using_dynamic_shape_tracing,
        "fullgraph": brain.compile_using_fullgraph,
        "mode": brain.compile_mode,
        "backend": getattr(brain.hparams, "compile_backend", "inductor"),
    }


def run_cell(cell, pool, args, device, tmp):
    """Builds, checks and times one (model, L) cell, filling ``cell`` (its
    ``stage`` says how far it got if this raises)."""
    name = cell["model"]
    cell["status"] = "ok"
    cell["stage"] = "build"
    if name == BASELINE:
        brain, hparams, info = build_sb_baseline(args, device, tmp)
        batches = sb_batches(
            pool, hparams["extractor"], hparams, args.seed, device
        )
    else:
        brain, hparams, info = build_ours(name, args, device, tmp)
        batches = ours_batches(pool, device)
    cell.update(info)
    brain.modules.train()
    cell["params_M"] = _params_M([brain.modules])
    print(
        f"[{name} L={cell['utt_s']:g}s] {cell['params_M']:.2f}M parameters "
        f"({cell['encoder_params_M']:.2f}M exported encoder), "
        f"{cell['optimizer']}",
        flush=True,
    )
    stepper = _Stepper(brain, batches, args.grad_accum)

    cell["stage"] = "flop count"
    cell["step_flops"] = _count_flops(stepper, brain.modules)
    common.sync(device)

    if cell["mode"] == "compiled":
        cell["stage"] = "compile"
        common.clear_dynamo()
        cell["compile_options"] = _compile_brain(brain, args)
        t0 = time.perf_counter()
        stepper.step()
        common.sync(device)
        cell["compile_s"] = time.perf_counter() - t0
        cell["dynamo"] = common.dynamo_counters()

    times_ms = common.time_steps(cell, stepper.step, args, device)

    cell["stage"] = "check"
    loss = float(stepper.last_loss)
    cell["last_loss"] = loss
    skipped = getattr(brain, "nonfinite_total", 0)
    cell["nonfinite_skipped"] = skipped
    if not math.isfinite(loss) or skipped:
        cell["status"] = "nonfinite"
    cell["optimizer_steps"] = brain.optimizer_step
    common.record_times(cell, times_ms)
    seconds = cell["ms"] / 1e3
    cell["audio_s_per_s"] = cell["audio_s"] * args.grad_accum / seconds
    cell["tflops"] = cell["step_flops"] / seconds / 1e12
    cell["mfu_pct"] = 100.0 * cell["tflops"] / args.peak_tflops
    if args.profile and cell["model"] == args.profile_model:
        cell["stage"] = "profile"
        cell["profile"] = profile_step(stepper.step, device)
        _write_profile(cell, args)
        cell.pop("stage")
    return cell


def _write_profile(cell, args):
    """Adds the cell's profile to ``--profile`` (one section per mode,
    the compiled one last: the end of the file is what to study)."""
    title = (
        f"Profile of one {cell['model']} ({cell['mode']}) optimizer step, "
        f"L = {cell['utt_s']:g} s, {cell['batch']} utterances"
    )
    path = Path(args.profile)
    lines = []
    if not args.profiled:
        lines += [*header_lines(args.meta), ""]
        args.profiled = True
    else:
        lines.append(path.read_text())
    lines += profile_markdown(cell["profile"], title) + [""]
    path.write_text("\n".join(lines))


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _notes(cell):
    notes = []
    if cell["status"] != "ok":
        notes.append(cell.get("error", cell["status"]))
    if "optimizer" in cell:
        notes.append(cell["optimizer"])
    notes += common.host_and_dynamo_notes(cell)
    if cell.get("last_loss") is not None:
        notes.append(f"loss {cell['last_loss']:.4g}")
    return "; ".join(notes)


def table_for_length(utt_s, cells, args):
    """Markdown table (list of lines) for one utterance length."""
    for c in cells:  # cells of runs before modes existed have no label
        c.setdefault("label", c["model"])
    base = next(
        (c for c in cells if c["model"] == BASELINE and c["status"] == "ok"),
        None,
    )
    first = cells[0]
    head = (
        f"### L = {utt_s:g} s: {first['batch']} utterances per micro-batch, "
        f"{first['audio_s']:.1f} s of real audio (mean; padded: "
        f"{first['padded_s']:.1f} s), {args.grad_accum} micro-batch(es) "
        "per optimizer step"
    )
    cols = [
        "model",
        "params M",
        "ms/step (median)",
        "audio-s/s",
        f"× {BASELINE}",
        "peak GiB",
        "MFU %",
    ]

    def ok_row(c):
        ratio = c["audio_s_per_s"] / base["audio_s_per_s"] if base else None
        big = c["audio_s_per_s"] >= 100
        return [
            c["label"],
            common.fmt(c.get("params_M"), ".4g"),
            common.fmt(c["ms"], ".1f"),
            common.fmt(c["audio_s_per_s"], ".0f" if big else ".3g"),
            "n/a" if ratio is None else f"{ratio:.2f}",
            common.fmt(c.get("peak_gib"), ".1f"),
            common.fmt(c["mfu_pct"], ".1f"),
        ]

    return common.cell_table(
        head,
        cols,
        cells,
        ok_row=ok_row,
        notes=_notes,
        name_key="label",
        compiled=args.compile,
    )


def header_lines(meta):
    """Markdown header (list of lines) describing the run."""
    cpu = meta["device"] != "cuda"
    title = "## Full pretraining step (one optimizer step)"
    if cpu:
        title += " — CPU SMOKE RUN, NOT A BENCHMARK"
    precision = (
        "fp32"
        if meta["precision"] == "fp32"
        else f"{meta['precision']} autocast (fp32 weights)"
    )
    compiled = "no"
    if meta["compile"]:
        compiled = (
            f"modes {', '.join(meta.get('modes', ['compiled']))}; compiled "
            "= our W2V2Brain's "
            "own torch.compile by regions (front end, span masking, each "
            "encoder layer, objective) with the YAML's compile options "
            "(dynamic shapes, fullgraph; see each cell's JSON); "
            f"{BASELINE} stays eager; 'compile s' is the first optimizer "
            "step after compiling, excluded from the timings"
        )
    timer = "CUDA events" if not cpu else "perf_counter"
    overrides = meta["overrides"] or "none"
    lines = [
        title,
        "",
        *common.run_header_lines(meta),
        f"- models: {BASELINE} = SpeechBrain 1.1.2 classes as its "
        "wav2vec2_base.yaml + train_sb_wav2vec2.py build and step them; "
        f"ours = recipe YAMLs in {meta['recipe_dir_rel']} stepped by "
        "summary_ssl W2V2Brain.fit_batch",
        f"- overrides: ours {overrides}; {BASELINE} "
        f"{meta['sb_overrides'] or 'none'}",
        f"- batch: {meta['batch_seconds']:g} s of audio per micro-batch "
        "(batch = round(budget / 0.85 L)), lengths uniform in [0.7 L, L] "
        "(the first L), random-normal 16 kHz waveforms, zero-padded, "
        f"relative lengths; {meta['grad_accum']} micro-batch(es) per "
        f"optimizer step; {meta['pool']} different batches rotated",
        f"- step: {precision}; masks: ours drawn on the device inside the "
        f"step (W2V2Brain), {BASELINE}'s by its collate function (data "
        "loader, untimed); AdamW fused: "
        f"{meta['fused_adamw']} (see notes); compile: {compiled}",
        f"- timing: {meta['warmup']} warm-up steps, then the median of "
        f"{meta['iters']} timed optimizer steps ({timer})",
        "- audio-s/s: real (non-padded) audio seconds per optimizer step / "
        f"median step time; × {BASELINE}: this model's audio-s/s over "
        f"{BASELINE}'s in this run (>1 = faster; target for "
        f"summarymixing_w2v2: ≥ {TARGET_RATIO:g})",
        "- peak GiB: torch.cuda.max_memory_allocated over the timed steps "
        "and one step before them",
        "- MFU: FlopCounterMode FLOPs of one optimizer step (matmuls, "
        "convolutions, SDPA; fwd+bwd; the padded batch as executed; "
        "layerdrop off for the count) / median time / "
        f"{meta['peak_tflops']:g} TFLOP/s",
    ]
    if cpu:
        lines += common.CPU_NOTE
    return lines


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv):
    """Command-line options."""
    p = common.new_parser(__doc__)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument(
        "--utt-seconds",
        default="5,12.5,25",
        help="utterance lengths L (comma-separated)",
    )
    p.add_argument(
        "--batch-seconds",
        type=float,
        default=200.0,
        help="audio per micro-batch (SpeechBrain's recipe: 200 per GPU)",
    )
    p.add_argument(
        "--grad-accum",
        type=int,
        default=1,
        help="micro-batches per optimizer step",
    )
    p.add_argument("--pool", type=int, default=2, help="batches rotated")
    p.add_argument("--precision", choices=PRECISIONS, default="bf16")
    common.add_timing_args(p)
    p.add_argument(
        "--set",
        dest="set_items",
        action="extend",
        nargs="+",
        metavar="[MODEL:]KEY=VALUE",
        help="overrides of our recipe YAMLs (values parsed as YAML); "
        "MODEL: limits one to that recipe",
    )
    p.add_argument(
        "--sb-set",
        dest="sb_set_items",
        action="extend",
        nargs="+",
        metavar="KEY=VALUE",
        help="overrides of the SpeechBrain baseline's config (see "
        "SB_BASE_YAML: embedding_dim, num_layers, nhead, d_ffn, conv_dim, "
        "extractor_dim, final_dim, quantiser_vars, num_negatives, ...)",
    )
    p.add_argument(
        "--fused-adamw",
        choices=("ours", "all", "none"),
        default="ours",
        help="which models get AdamW(fused=True) on CUDA (SpeechBrain's "
        "stock step uses torch's default)",
    )
    p.add_argument(
        "--modes",
        default=None,
        help="comma-separated: eager, compiled (our Brain's regional "
        "torch.compile, as the recipe's compile: True runs it). "
        f"{BASELINE} always runs eager. Default: eager (eager,compiled "
        "with --compile)",
    )
    p.add_argument("--compile", action="store_true")
    p.add_argument(
        "--compile-backend",
        default=None,
        help="torch.compile backend (default: the YAML's compile_backend, "
        "inductor; a CPU dry run can use 'eager')",
    )
    p.add_argument(
        "--profile",
        default=None,
        metavar="PATH",
        help="profile one step of --profile-model (its compiled cell if "
        "the run has one) and write the kernel report here (markdown)",
    )
    p.add_argument("--profile-model", default="summarymixing_w2v2")
    p.add_argument(
        "--suppress-compile-errors",
        action="store_true",
        help="a region that fails to compile runs eagerly instead of "
        "failing the cell (torch._dynamo.config.suppress_errors); the "
        "notes' graph count shows how many regions compiled",
    )
    common.add_machine_args(p)
    p.add_argument("--recipe-dir", default=str(RECIPE_DIR))
    p.add_argument("--cudnn-benchmark", action="store_true")
    common.add_sync_check_arg(p)
    common.add_output_args(p)
    args = p.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        p.error(f"unknown models {unknown}; valid: {list(MODELS)}")
    args.utt_seconds = [float(s) for s in args.utt_seconds.split(",") if s]
    if args.grad_accum < 1 or args.iters < 1 or args.pool < 1:
        p.error("--grad-accum, --iters and --pool must be >= 1")
    args.overrides, args.model_overrides = _parse_overrides(args.set_items, p)
    args.sb_overrides, extra = _parse_overrides(args.sb_set_items, p)
    if extra:
        p.error("--sb-set takes KEY=VALUE items only")
    if args.modes is None:
        args.modes = "eager,compiled" if args.compile else "eager"
    args.modes = [m for m in args.modes.split(",") if m]
    if set(args.modes) - {"eager", "compiled"} or not args.modes:
        p.error(f"--modes: eager and/or compiled, got {args.modes}")
    args.compile = "compiled" in args.modes
    args.profiled = False
    return args


def main(argv=None):
    """Runs the benchmark; returns ``(markdown_text, results_dict)``."""
    argv, command = common.command_line(argv, "pretrain_step_bench.main")
    args = parse_args(argv)
    device = common.select_device(args)
    if device.type != "cuda" and args.precision == "fp16":
        raise SystemExit("fp16 needs CUDA (SpeechBrain's Brain refuses it)")
    if args.compile:
        common.raise_recompile_limits()
        if args.suppress_compile_errors:
            torch._dynamo.config.suppress_errors = True

    try:
        recipe_dir_rel = str(Path(args.recipe_dir).resolve().relative_to(_REPO))
    except ValueError:
        recipe_dir_rel = args.recipe_dir
    meta = dict(
        **common.run_meta(device, command),
        recipe_dir_rel=recipe_dir_rel,
        overrides={
            **args.overrides,
            **{
                f"{m}:{k}": v
                for m, kv in args.model_overrides.items()
                for k, v in kv.items()
            },
        },
        sb_overrides=args.sb_overrides,
        cudnn_benchmark=args.cudnn_benchmark,
        baseline=BASELINE,
        lengths={},
        **{
            k: getattr(args, k)
            for k in (
                "models",
                "utt_seconds",
                "batch_seconds",
                "grad_accum",
                "pool",
                "precision",
                "warmup",
                "iters",
                "fused_adamw",
                "compile",
                "peak_tflops",
                "seed",
            )
        },
    )
    meta["modes"] = args.modes
    args.meta = meta
    header = header_lines(meta)
    common.print_header(header)

    cells = []
    with tempfile.TemporaryDirectory(prefix="step_bench_") as tmp:
        try:
            _run_all(args, device, meta, cells, tmp)
        except KeyboardInterrupt:
            print("interrupted: reporting what was measured", flush=True)

    tables = []
    for utt_s in args.utt_seconds:
        group = [c for c in cells if c["utt_s"] == utt_s]
        if group:
            tables.append(table_for_length(utt_s, group, args))
    text = common.finish_report(header, tables, args.json, meta, cells)
    return text, {"meta": meta, "results": cells, "markdown": text}


def _new_cell(key, utt_s, pool):
    name, mode, label = key
    audio = [float(item["lengths"].sum()) / SAMPLE_RATE for item in pool]
    return {
        "model": name,
        "mode": mode,
        "label": label,
        "utt_s": utt_s,
        "batch": len(pool[0]["lengths"]),
        # real audio per micro-batch, mean over the rotated batches
        "audio_s": sum(audio) / len(audio),
        "padded_s": pool[0]["wavs"].numel() / SAMPLE_RATE,
    }


def _label(name, mode, args):
    """The model, with its mode when the run has several."""
    return name if len(args.modes) == 1 else f"{name} ({mode})"


def _run_all(args, device, meta, cells, tmp):
    """Every (L, model) cell; a failed cell is recorded and the run goes
    on. KeyboardInterrupt marks the remaining cells skipped and re-raises
    after the bookkeeping."""
    budget = common.Budget(args.max_seconds)
    plan = []
    for utt_s in args.utt_seconds:
        pool = make_pool(utt_s, args.batch_seconds, args.pool, args.seed)
        meta["lengths"][f"{utt_s:g}"] = [
            item["lengths"].tolist() for item in pool
        ]
        modes = list(args.modes)
        if BASELINE in args.models and "eager" not in modes:
            modes.insert(0, "eager")  # the stock baseline runs eager
        plan += [
            ((name, mode, _label(name, mode, args)), utt_s, pool)
            for mode in modes
            for name in args.models
            if (mode == "eager" if name == BASELINE else mode in args.modes)
        ]
    common.run_cells(
        plan,
        cells,
        budget,
        new_cell=_new_cell,
        measure=lambda cell, pool: run_cell(cell, pool, args, device, tmp),
        progress=_progress,
        args=args,
        device=device,
        meta=meta,
        gc_on_cpu=True,
    )


def _progress(cell):
    common.print_progress(
        cell,
        f"{cell['model']} L={cell['utt_s']:g}s",
        lambda c: (
            f"{c['ms']:.1f} ms/step, {c['audio_s_per_s']:.0f} "
            f"audio-s/s, MFU {c['mfu_pct']:.1f}%"
        ),
    )


if __name__ == "__main__":
    main()
