"""The wav2vec 2.0 objective (lobes.objectives.wav2vec2) and the masked
Gumbel quantiser it trains."""

import torch
import torch.nn.functional as F
from speechbrain.nnet.quantisers import GumbelVectorQuantizer

from summary_ssl.lobes.augment.span_masking import (
    compute_span_mask,
    masked_slots,
    sample_slot_negatives,
    span_bounds,
)
from summary_ssl.lobes.objectives.contrastive import slot_logits
from summary_ssl.lobes.objectives.wav2vec2 import W2V2Objective
from summary_ssl.nnet.gumbel_quantiser import MaskedGumbelVectorQuantizer


def _reference_logits(obj, context, latents, mask, neg_slots):
    """The objective written the plain way (masked frames gathered with
    a boolean index, cosine similarity of gathered vectors, -inf where a
    negative's target vector equals the positive's), for one draw of
    negatives (slot indices per utterance)."""
    rows = []
    for b in range(mask.shape[0]):
        frames = mask[b].nonzero().squeeze(1)
        q = obj.quantiser(latents[b, frames][None])["x"][0]
        targets = obj.project_q(q)
        preds = obj.final_proj(context[b, frames])
        negs = targets[neg_slots[b, : len(frames)]]  # (n, K, P)
        cands = torch.cat([targets[:, None], negs], dim=1)
        logits = F.cosine_similarity(preds[:, None], cands, dim=-1) / 0.1
        same = (negs == targets[:, None]).all(-1)
        logits[:, 1:] = logits[:, 1:].masked_fill(same, float("-inf"))
        rows.append(logits)
    return torch.cat(rows)


def test_objective_matches_the_plain_computation():
    """The fixed-shape objective (slots, one similarity matrix per
    utterance, codes compared) gives the plain computation's logits and
    loss, padding slots included."""
    torch.manual_seed(5)
    obj = W2V2Objective(8, 16, proj_dim=8, num_vars=3, num_negatives=6)
    obj.eval()  # hard codes: equal codes give equal vectors exactly
    lengths = torch.tensor([60, 41, 25])
    mask = compute_span_mask(lengths, 60)
    latents, context = torch.randn(3, 60, 8), torch.randn(3, 60, 16)
    _, num_slots = span_bounds(60, 0.65, 10, 2)
    state = torch.get_rng_state()
    out = obj(context, latents, mask, torch.tensor(0.0), num_slots)
    torch.set_rng_state(state)  # the same negatives
    counts = mask.sum(1)
    neg, valid = sample_slot_negatives(counts, num_slots, 6)
    ref = _reference_logits(obj, context, latents, mask, neg)
    assert bool(torch.isinf(ref).any())  # 3 codes: equal targets occur
    frames, _, slot_valid = masked_slots(mask, num_slots)
    q = obj.quantiser(_gather(latents, frames), slot_valid)
    logits = slot_logits(
        obj.final_proj(_gather(context, frames)),
        obj.project_q(q["x"]),
        q["codes"],
        neg,
        obj.logit_temp,
    )
    torch.testing.assert_close(logits[valid], ref, rtol=1e-5, atol=1e-5)
    expected = F.cross_entropy(ref, torch.zeros(len(ref)).long())
    torch.testing.assert_close(out["contrastive_loss"], expected)
    assert out["num_masked"] == counts.sum()


def _gather(x, frames):
    return x.gather(1, frames[..., None].expand(-1, -1, x.shape[-1]))


def test_quantiser_matches_speechbrains_and_ignores_padding():
    torch.manual_seed(6)
    ours = MaskedGumbelVectorQuantizer(12, 5, (2.0, 0.5, 0.9), 2, 8).eval()
    theirs = GumbelVectorQuantizer(12, 5, (2.0, 0.5, 0.9), 2, 8).eval()
    theirs.load_state_dict(ours.state_dict())  # same checkpoint keys
    x = torch.randn(2, 9, 12)
    a, b = ours(x), theirs(x)
    torch.testing.assert_close(a["x"], b["x"])
    for key in ("code_perplexity", "prob_perplex"):
        torch.testing.assert_close(a[key], b[key])
    # Padded rows change nothing in the statistics.
    valid = torch.ones(2, 9, dtype=torch.bool)
    valid[1, 4:] = False
    padded = ours(torch.where(valid[..., None], x, 100.0), valid)
    real = theirs(x[valid][None])
    for key in ("code_perplexity", "prob_perplex"):
        torch.testing.assert_close(padded[key], real[key])


def test_objective_loss_is_cross_entropy_with_positive_first():
    torch.manual_seed(2)
    obj = W2V2Objective(8, 16, proj_dim=8, num_vars=4, num_negatives=3)
    obj.eval()
    latents = torch.randn(1, 20, 8)
    mask = torch.zeros(1, 20, dtype=torch.bool)
    mask[0, :12] = True
    # Context that predicts its target perfectly -> accuracy 1.
    q = obj.project_q(obj.quantiser(latents[mask].unsqueeze(0))["x"][0])
    with torch.no_grad():
        obj.final_proj.weight.zero_()
        obj.final_proj.bias.zero_()
        obj.final_proj.weight[:, :8] = torch.eye(8)
    context = torch.zeros(1, 20, 16)
    context[0, :12, :8] = q.detach()
    out = obj(context, latents, mask, torch.tensor(0.0))
    assert float(out["accuracy"]) == 1.0
    assert out["num_masked"] == 12
    assert torch.isfinite(out["loss"])
