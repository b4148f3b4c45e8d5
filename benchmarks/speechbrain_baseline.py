"""SpeechBrain's stock wav2vec 2.0 BASE, the baseline of the step benchmark.

Built from SpeechBrain 1.1.2's classes as its recipe
``recipes/LibriSpeech/self-supervised-learning/wav2vec2/`` builds it
(:data:`SB_BASE_YAML`), stepped as its ``train_sb_wav2vec2.py`` steps it
(:class:`SBStockW2V2Brain`), on batches made as its data loader makes
them (:func:`sb_batches`). ``pretrain_step_bench.py`` times it beside our
recipes.

Authors
-------
* summary_ssl contributors 2026
"""

import random

import bench_common as common
import numpy as np
import speechbrain as sb
import torch
from speechbrain.lobes.models.wav2vec import compute_mask, sample_negatives

BASELINE = "sb-wav2vec2-base"  # its name in the benchmark
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
        out.append(tuple(common.pin(t, device) for t in (wavs, rel, mask)))
    return out
