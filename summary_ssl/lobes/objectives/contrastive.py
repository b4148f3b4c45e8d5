"""The contrastive loss shared by wav2vec 2.0 and teacher-student
pretraining (Baevski et al. 2020, Eq. 3; Spiral and S3LSpeech use the
same loss on the teacher's outputs).

For each prediction ``p_t`` with target ``q_t`` and ``K`` negatives
``q_k``: cross-entropy of ``cos(p_t, q_t) / T`` against
``cos(p_t, q_k) / T``; a negative equal to the target gets ``-inf``.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn.functional as F


def contrastive_loss(preds, targets, neg_index, weight, logit_temp):
    """Weighted mean contrastive loss and accuracy.

    Arguments
    ---------
    preds : torch.Tensor
        (N, P) predictions.
    targets : torch.Tensor
        (N, P) their targets (the positives).
    neg_index : torch.Tensor
        (N, K) indices into ``targets`` of each prediction's negatives.
    weight : torch.Tensor
        (N,) boolean or float weight of each prediction in the mean
        (False for predictions that have no real negative).
    logit_temp : float
        Temperature of the cosine similarities.

    Returns
    -------
    loss : torch.Tensor
        Scalar, the weighted mean cross-entropy.
    accuracy : torch.Tensor
        Scalar, the weighted fraction of predictions whose target
        scores highest (no gradient).

    Example
    -------
    >>> targets = torch.eye(3)
    >>> neg_index = torch.tensor([[1, 2], [0, 2], [0, 1]])
    >>> loss, acc = contrastive_loss(targets, targets, neg_index,
    ...                              torch.ones(3), logit_temp=0.1)
    >>> round(float(loss), 6), float(acc)
    (9.1e-05, 1.0)
    """
    negatives = targets[neg_index]  # (N, K, P)
    candidates = torch.cat([targets.unsqueeze(1), negatives], dim=1)
    logits = F.cosine_similarity(
        preds.float().unsqueeze(1), candidates.float(), dim=-1
    )
    logits = logits / logit_temp
    same = (negatives == targets.unsqueeze(1)).all(dim=-1)
    logits[:, 1:] = logits[:, 1:].masked_fill(same, float("-inf"))
    return weighted_cross_entropy(logits, weight)


def slot_contrastive_loss(preds, targets, codes, neg_index, weight, logit_temp):
    """The same loss on wav2vec 2.0's fixed slots of masked frames.

    Each utterance's predictions and targets sit in ``M`` slots (see
    :func:`summary_ssl.lobes.augment.span_masking.masked_slots`): the cosine
    similarities of all its (prediction, target) pairs are one batched
    matrix product, and each prediction's positive and negatives are read
    from its row (no (N, K, P) gather of target vectors). A negative with
    the positive's code (every group's) gets ``-inf``: equal codes are
    what makes quantised targets equal.

    Arguments
    ---------
    preds : torch.Tensor
        (B, M, P) predictions.
    targets : torch.Tensor
        (B, M, P) their targets.
    codes : torch.Tensor
        (B, M) the code of each target.
    neg_index : torch.Tensor
        (B, M, K) slot indices of each prediction's negatives.
    weight : torch.Tensor
        (B, M) boolean or float weight (False for empty slots).
    logit_temp : float
        Temperature of the cosine similarities.

    Returns
    -------
    loss : torch.Tensor
    accuracy : torch.Tensor

    Example
    -------
    >>> targets = torch.eye(3).unsqueeze(0)
    >>> neg_index = torch.tensor([[[1, 2], [0, 2], [0, 1]]])
    >>> loss, acc = slot_contrastive_loss(targets, targets,
    ...     torch.arange(3)[None], neg_index, torch.ones(1, 3), 0.1)
    >>> round(float(loss), 6), float(acc)
    (9.1e-05, 1.0)
    """
    logits = slot_logits(preds, targets, codes, neg_index, logit_temp)
    return weighted_cross_entropy(logits, weight)


def slot_logits(preds, targets, codes, neg_index, logit_temp):
    """(B, M, 1 + K) cosine similarities / ``logit_temp``, the positive
    first, of :func:`slot_contrastive_loss`; float32, outside autocast."""
    B, M, K = neg_index.shape
    with torch.autocast(preds.device.type, enabled=False):
        preds = F.normalize(preds.float(), dim=-1, eps=1e-8)
        targets = F.normalize(targets.float(), dim=-1, eps=1e-8)
        sim = torch.bmm(preds, targets.transpose(1, 2)) / logit_temp
    positive = sim.diagonal(dim1=1, dim2=2).unsqueeze(-1)  # (B, M, 1)
    negatives = sim.gather(2, neg_index)  # (B, M, K)
    neg_codes = codes.gather(1, neg_index.view(B, M * K)).view(B, M, K)
    same = neg_codes == codes.unsqueeze(-1)
    negatives = negatives.masked_fill(same, float("-inf"))
    return torch.cat([positive, negatives], dim=-1)


def weighted_cross_entropy(logits, weight):
    """Weighted mean cross-entropy of ``(..., 1 + K)`` logits whose first
    entry is the right one, and the weighted accuracy (no gradient).

    Arguments
    ---------
    logits : torch.Tensor
        (..., 1 + K).
    weight : torch.Tensor
        Same leading shape, boolean or float.

    Returns
    -------
    loss : torch.Tensor
    accuracy : torch.Tensor
    """
    flat = logits.reshape(-1, logits.shape[-1])
    zeros = torch.zeros(flat.shape[0], dtype=torch.long, device=flat.device)
    per_item = F.cross_entropy(flat, zeros, reduction="none")
    weight = weight.reshape(-1).float()
    total = weight.sum().clamp_min(1)
    loss = (per_item * weight).sum() / total
    with torch.no_grad():
        correct = (flat.argmax(dim=-1) == 0).float()
        accuracy = (correct * weight).sum() / total
    return loss, accuracy
