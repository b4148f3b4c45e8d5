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
    zeros = torch.zeros(len(logits), dtype=torch.long, device=logits.device)
    per_item = F.cross_entropy(logits, zeros, reduction="none")
    weight = weight.float()
    total = weight.sum().clamp_min(1)
    loss = (per_item * weight).sum() / total
    with torch.no_grad():
        correct = (logits.argmax(dim=-1) == 0).float()
        accuracy = (correct * weight).sum() / total
    return loss, accuracy
