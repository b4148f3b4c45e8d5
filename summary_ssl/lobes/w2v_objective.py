"""The wav2vec 2.0 training objective, beside the model (as fairseq's
``wav2vec_criterion`` sits beside its model).

loss = L_contrastive + diversity_weight * L_diversity
       + feature_penalty_weight * mean(latents^2)          (Baevski 2020)
       [+ utterance_contrast_weight * L_utterance]         (opt-in, below)

* L_contrastive (Eq. 3,
  :func:`summary_ssl.lobes.contrastive.slot_contrastive_loss`): for each
  masked frame, cross-entropy of ``cos(c_t, q_t) / T`` against
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
(:func:`summary_ssl.lobes.span_masking.masked_slots`), so every shape is
known from the batch's shape alone: no host-device synchronisation, one
``torch.compile`` graph. The cosine similarities of an utterance's
predictions with all its targets are one (slots x slots) matrix product;
each frame's K negatives are gathered from it, instead of gathering K
target vectors per frame.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from summary_ssl.lobes.contrastive import slot_contrastive_loss
from summary_ssl.lobes.span_masking import masked_slots, sample_slot_negatives
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
    utterance_contrast_weight : float
        Weight of an utterance-level contrast (as UniSpeech-SAT's
        utterance-wise contrastive loss): the mean context of each
        utterance's first half must pick its second half among the
        batch's. 0 (default) leaves wav2vec 2.0's loss alone.
    utterance_bank_size : int
        For the term on the projected front end (``utterance_contrast_layer:
        0``): also contrast against the last this many training
        utterances. The bank holds their second halves' mean front-end
        latents, and their keys are recomputed each step through the
        current input projection and head (``utterance_key_proj`` of
        ``forward``), so they never go stale: a queue of stored
        embeddings (MoCo without its momentum encoder) made training fail
        on real speech. The batch's own keys then come from its unmasked
        latents the same way. 0 (default): the batch's utterances only.

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
        utterance_contrast_weight=0.0,
        utterance_bank_size=0,
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
        self.utterance_contrast_weight = utterance_contrast_weight
        if utterance_contrast_weight > 0:
            self.utterance_proj = nn.Linear(d_model, proj_dim)
        size = utterance_bank_size
        if isinstance(size, bool) or size != int(size) or size < 0:
            raise ValueError(
                f"utterance_bank_size must be a whole number >= 0, not {size!r}"
            )
        if size and not utterance_contrast_weight > 0:
            raise ValueError(
                "utterance_bank_size needs utterance_contrast_weight > 0"
            )
        self.utterance_bank_size = int(size)
        if size:
            # Buffers, so a checkpoint (and exact resume) keeps the bank.
            self.register_buffer(
                "utterance_bank", torch.zeros(size, latent_dim)
            )
            self.register_buffer(
                "utterance_bank_filled", torch.zeros(size, dtype=torch.bool)
            )
            self.register_buffer(
                "utterance_bank_next", torch.zeros((), dtype=torch.long)
            )

    def set_step(self, optimizer_step):
        """Anneals the Gumbel temperature to ``optimizer_step``."""
        self.quantiser.set_step(optimizer_step)

    def forward(
        self,
        context,
        latents,
        mask,
        features_pen,
        num_slots=None,
        padding=None,
        utterance_context=None,
        utterance_key_proj=None,
    ):
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
        padding : torch.Tensor, optional
            (B, T) boolean, True = padding; only the utterance-level term
            reads it (default: no padding).
        utterance_context : torch.Tensor, optional
            (B, T, d_model) hidden states the utterance-level term reads
            instead of ``context`` (e.g. a lower layer's).
        utterance_key_proj : tuple of torch.Tensor, optional
            ``(weight, bias)`` of the linear map from front-end latents to
            that hidden state (the encoder's input projection); needed
            with ``utterance_bank_size``.

        Returns
        -------
        dict of torch.Tensor
            ``loss`` and its parts, ``accuracy`` (positive ranked first),
            ``code_perplexity`` (of the hard codes), ``temperature``,
            ``num_masked``, and ``utterance_loss`` when that term is on.
        """
        if num_slots is None:
            num_slots = mask.shape[1]
        frames, counts, slot_valid = masked_slots(mask, num_slots)
        full_context, latents_all = context, latents
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
        extra = {}
        if self.utterance_contrast_weight > 0:
            if utterance_context is None:
                utterance_context = full_context
            if self.utterance_bank_size:
                if utterance_key_proj is None:
                    raise ValueError(
                        "utterance_bank_size needs utterance_key_proj"
                    )
                utt = self._utterance_contrast_banked(
                    utterance_context, latents_all, padding, utterance_key_proj
                )
            else:
                utt = self._utterance_contrast(utterance_context, padding)
            loss = loss + self.utterance_contrast_weight * utt
            extra["utterance_loss"] = utt.detach()
        return {
            **extra,
            "loss": loss,
            "contrastive_loss": contrastive.detach(),
            "diversity_loss": diversity.detach(),
            "accuracy": accuracy,
            "code_perplexity": quantised["code_perplexity"].detach(),
            "temperature": quantised["temp"].detach().clone(),
            "num_masked": mask.sum(),
        }

    def _utterance_contrast(self, context, padding):
        """Cross-entropy of first-half vs second-half mean contexts over
        the batch (both directions)."""
        first, second = _halves(context, padding)
        with torch.autocast(context.device.type, enabled=False):
            a = self._utterance_head(_mean(context, first))
            b = self._utterance_head(_mean(context, second))
            return _symmetric_cross_entropy(a @ b.t() / self.logit_temp)

    def _utterance_contrast_banked(self, context, latents, padding, key_proj):
        """The term with the bank: first-half mean contexts (queries)
        against the second halves' keys, the batch's and the bank's, all
        made from front-end latents by ``key_proj``; in training, the
        batch's second halves then join the bank."""
        first, second = _halves(context, padding)
        weight, bias = key_proj
        with torch.autocast(context.device.type, enabled=False):
            a = self._utterance_head(_mean(context, first))
            held = _mean(latents, second)  # (B, latent_dim)
            # A copy: the backward needs the bank as it was read.
            stored = torch.cat([held, self.utterance_bank.clone()])
            keys = self._utterance_head(
                F.linear(stored, weight.float(), bias.float())
            )
            sim = a @ keys.t() / self.logit_temp  # (B, B + bank)
            # Slots not yet written give -inf (no host sync).
            fresh = torch.zeros(len(a), dtype=torch.bool, device=a.device)
            empty = torch.cat([fresh, ~self.utterance_bank_filled])
            sim = sim.masked_fill(empty, -torch.inf)
            # Keys pick their query among the batch's only.
            target = torch.arange(len(a), device=sim.device)
            loss = 0.5 * (
                F.cross_entropy(sim, target)
                + F.cross_entropy(sim[:, : len(a)].t(), target)
            )
        if self.training:
            self._bank(held.detach())
        return loss

    def _utterance_head(self, pooled):
        return F.normalize(self.utterance_proj(pooled), dim=-1)

    @torch.no_grad()
    def _bank(self, held):
        """Writes the newest ``held`` (N, latent_dim) over the oldest
        slots; the write position stays on the device."""
        size = self.utterance_bank_size
        held = held[-size:]
        start = self.utterance_bank_next
        slots = (start + torch.arange(len(held), device=start.device)) % size
        self.utterance_bank.index_copy_(0, slots, held)
        self.utterance_bank_filled.index_fill_(0, slots, True)
        self.utterance_bank_next.copy_((start + len(held)) % size)


def _halves(x, padding):
    """(B, T) float masks of each utterance's first and second half of
    real frames."""
    B, T = x.shape[:2]
    if padding is None:
        padding = torch.zeros(B, T, dtype=torch.bool, device=x.device)
    valid = ~padding
    length = valid.sum(1, keepdim=True)
    t = torch.arange(T, device=x.device)[None]
    first = (valid & (2 * t < length)).float()
    second = (valid & (2 * t >= length)).float()
    return first, second


def _mean(x, m):
    """Mean of x (B, T, C) over the frames of the float mask m (B, T)."""
    count = m.sum(1, keepdim=True).clamp_min(1)
    return (x.float() * m[..., None]).sum(1) / count


def _symmetric_cross_entropy(sim):
    """Mean of the row-wise and column-wise cross-entropy of a square
    similarity matrix whose diagonal holds the positives."""
    target = torch.arange(len(sim), device=sim.device)
    return 0.5 * (
        F.cross_entropy(sim, target) + F.cross_entropy(sim.t(), target)
    )


def _gather_frames(x, frames):
    """x (B, T, C) at frames (B, M) -> (B, M, C)."""
    return x.gather(1, frames.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
