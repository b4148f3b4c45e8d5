"""The wav2vec 2.0 training objective, beside the model (as fairseq's
``wav2vec_criterion`` sits beside its model).

loss = L_contrastive + diversity_weight * L_diversity
       + feature_penalty_weight * mean(latents^2)          (Baevski 2020)

* L_contrastive (Eq. 3,
  :func:`summary_ssl.lobes.objectives.contrastive.slot_contrastive_loss`):
  for each masked frame, cross-entropy of ``cos(c_t, q_t) / T`` against
  ``cos(c_t, q_neg) / T`` for ``K`` negatives
  drawn from the other masked frames of the same utterance; a negative
  whose quantised target equals the positive's (the same code in every
  group) gets ``-inf``.
* L_diversity (Eq. 4): ``(G V - perplexity) / (G V)`` of the averaged
  code probabilities over the quantised (masked, so real) frames.

Only masked frames are quantised: they are the only targets, and their
negatives are masked frames too. This also keeps padding out of the code
statistics, which SpeechBrain's quantiser would otherwise average over.

The masked frames of each utterance sit in a fixed number of slots
(:func:`summary_ssl.lobes.augment.span_masking.masked_slots`), so every shape is
known from the batch's shape alone: no host-device synchronisation, one
``torch.compile`` graph. The cosine similarities of an utterance's
predictions with all its targets are one (slots x slots) matrix product;
each frame's K negatives are gathered from it, instead of gathering K
target vectors per frame.

The opt-in utterance-level term, which is not wav2vec 2.0's, is its own
module
(:class:`summary_ssl.lobes.objectives.utterance_contrast.UtteranceContrast`);
the Brain adds its loss to this one's.

Authors
-------
* summary_ssl contributors 2026
"""

import torch.nn as nn

from summary_ssl.lobes.augment.span_masking import (
    masked_slots,
    sample_slot_negatives,
)
from summary_ssl.lobes.objectives.contrastive import slot_contrastive_loss
from summary_ssl.nnet.gumbel_quantiser import MaskedGumbelVectorQuantizer


class W2V2Objective(nn.Module):
    """Quantiser, projections and losses of wav2vec 2.0.

    Arguments
    ---------
    latent_dim : int
        Size of the front-end latents (quantiser input).
    d_model : int
        Size of the context vectors.
    proj_dim : int
        Size of the space the similarity is computed in.
    num_vars : int
        Codewords per group (V).
    groups : int
        Codebook groups (G).
    temperature_decay : list of float
        Gumbel temperature (start, end, decay per optimizer step).
    num_negatives : int
        Negatives per masked frame (K).
    logit_temp : float
        Temperature of the cosine similarities.
    diversity_weight : float
        Weight of the diversity loss.
    feature_penalty_weight : float
        Weight of the mean squared front-end output.

    Example
    -------
    >>> import torch
    >>> objective = W2V2Objective(16, 32, proj_dim=8, num_vars=10,
    ...                           num_negatives=4)
    >>> latents, context = torch.randn(2, 30, 16), torch.randn(2, 30, 32)
    >>> mask = torch.zeros(2, 30, dtype=torch.bool)
    >>> mask[:, 5:15] = True
    >>> out = objective(context, latents, mask, torch.tensor(0.0))
    >>> sorted(out)  # doctest: +NORMALIZE_WHITESPACE
    ['accuracy', 'code_perplexity', 'contrastive_loss', 'diversity_loss',
     'loss', 'num_masked', 'temperature']
    """

    def __init__(
        self,
        latent_dim,
        d_model,
        proj_dim=256,
        num_vars=320,
        groups=2,
        temperature_decay=(2.0, 0.5, 0.999995),
        num_negatives=100,
        logit_temp=0.1,
        diversity_weight=0.1,
        feature_penalty_weight=0.0,
    ):
        super().__init__()
        self.quantiser = MaskedGumbelVectorQuantizer(
            latent_dim, num_vars, tuple(temperature_decay), groups, proj_dim
        )
        self.project_q = nn.Linear(proj_dim, proj_dim)
        self.final_proj = nn.Linear(d_model, proj_dim)
        self.num_negatives = num_negatives
        self.logit_temp = logit_temp
        self.diversity_weight = diversity_weight
        self.feature_penalty_weight = feature_penalty_weight

    def set_step(self, optimizer_step):
        """Anneals the Gumbel temperature to ``optimizer_step``."""
        self.quantiser.set_step(optimizer_step)

    def forward(self, context, latents, mask, features_pen, num_slots=None):
        """Computes the losses and statistics.

        Arguments
        ---------
        context : torch.Tensor
            (B, T, d_model) encoder output on the masked input.
        latents : torch.Tensor
            (B, T, latent_dim) unmasked front-end latents (targets).
        mask : torch.Tensor
            (B, T) boolean, True = masked (never on padding).
        features_pen : torch.Tensor
            Scalar feature penalty from the encoder.
        num_slots : int, optional
            Masked frames per utterance to make room for: at least the
            most any utterance has (``span_bounds(T, ...)[1]`` for masks
            from ``compute_span_mask``); default ``T``, always enough.

        Returns
        -------
        dict of torch.Tensor
            ``loss`` and its parts, ``accuracy`` (positive ranked first),
            ``code_perplexity`` (of the hard codes), ``temperature`` and
            ``num_masked``.
        """
        if num_slots is None:
            num_slots = mask.shape[1]
        frames, counts, slot_valid = masked_slots(mask, num_slots)
        latents = _gather_frames(latents, frames)  # (B, M, C)
        context = _gather_frames(context, frames)  # (B, M, d_model)
        quantised = self.quantiser(latents, slot_valid)
        targets = self.project_q(quantised["x"])  # (B, M, P)
        preds = self.final_proj(context)  # (B, M, P)
        neg_index, valid = sample_slot_negatives(
            counts, frames.shape[1], self.num_negatives
        )
        contrastive, accuracy = slot_contrastive_loss(
            preds,
            targets,
            quantised["codes"],
            neg_index,
            valid,
            self.logit_temp,
        )
        num_vars = quantised["num_vars"]
        diversity = (num_vars - quantised["prob_perplex"]) / num_vars
        loss = (
            contrastive
            + self.diversity_weight * diversity
            + self.feature_penalty_weight * features_pen
        )
        return {
            "loss": loss,
            "contrastive_loss": contrastive.detach(),
            "diversity_loss": diversity.detach(),
            "accuracy": accuracy,
            "code_perplexity": quantised["code_perplexity"].detach(),
            "temperature": quantised["temp"].detach().clone(),
            "num_masked": mask.sum(),
        }


def _gather_frames(x, frames):
    """x (B, T, C) at frames (B, M) -> (B, M, C)."""
    return x.gather(1, frames.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
