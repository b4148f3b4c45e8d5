"""The teacher-student objective of S3LSpeech and Spiral, beside the model.

The student's projected outputs go through a convolutional predictor and
must pick out the teacher's projected output for the same frame among
``K`` negatives drawn from the other frames of the same utterance
(Spiral, Huang et al. 2022, Sec. 3.3; S3LSpeech public code,
``models/ssl.py``)::

    loss = mean over real frames t of
           CE( cos(pred_t, teacher_t) / T, {cos(pred_t, teacher_k) / T} )

Unlike wav2vec 2.0 there is no masking: every real frame is a target, and
the negatives come from every other real frame of its utterance. Padded
frames are neither predictions, targets nor negatives (the public code,
which sets every length to the padded one, counts them).

Authors
-------
* summary_ssl contributors 2026
"""

import torch.nn as nn

from summary_ssl.lobes.augment.span_masking import sample_negatives
from summary_ssl.lobes.objectives.contrastive import contrastive_loss
from summary_ssl.nnet.conv_stack import ConvStack


class TeacherStudentObjective(nn.Module):
    """Predictor and contrastive loss of teacher-student pretraining.

    Arguments
    ---------
    proj_dim : int
        Size of the projected outputs of student and teacher.
    predictor_layers : list of (int, int, int)
        ``(channels, kernel, stride)`` of the predictor's convolutions
        ("same" padding, stride 1); the last ``channels`` must be
        ``proj_dim``. S3LSpeech: ``[(256, 5, 1), (256, 5, 1), (256, 1,
        1)]``.
    dropout : float
        Dropout in the predictor.
    num_negatives : int
        Negatives per frame (K; S3LSpeech: 100).
    logit_temp : float
        Temperature of the cosine similarities (S3LSpeech: 0.5).

    Example
    -------
    >>> import torch
    >>> objective = TeacherStudentObjective(
    ...     8, [(8, 3, 1), (8, 1, 1)], num_negatives=4)
    >>> student, teacher = torch.randn(2, 10, 8), torch.randn(2, 10, 8)
    >>> padding = torch.arange(10)[None, :] >= torch.tensor([[10], [6]])
    >>> out = objective(student, teacher, padding)
    >>> sorted(out)
    ['accuracy', 'loss', 'num_frames']
    >>> int(out["num_frames"])
    16
    """

    def __init__(
        self,
        proj_dim=256,
        predictor_layers=((256, 5, 1), (256, 5, 1), (256, 1, 1)),
        dropout=0.1,
        num_negatives=100,
        logit_temp=0.5,
    ):
        super().__init__()
        self.predictor = ConvStack(
            proj_dim, predictor_layers, padding="same", dropout=dropout
        )
        if self.predictor.out_dim != proj_dim:
            raise ValueError(
                f"the predictor ends with {self.predictor.out_dim} channels; "
                f"it must end with proj_dim={proj_dim}"
            )
        self.num_negatives = num_negatives
        self.logit_temp = logit_temp

    def forward(self, student, teacher, padding):
        """Computes the loss and statistics.

        Arguments
        ---------
        student : torch.Tensor
            (B, T, proj_dim) student's projected outputs.
        teacher : torch.Tensor
            (B, T, proj_dim) teacher's projected outputs for the same
            frames (no gradient).
        padding : torch.Tensor
            (B, T) boolean, True = padding.

        Returns
        -------
        dict of torch.Tensor
            ``loss``, ``accuracy`` (target ranked first), ``num_frames``.
        """
        real = ~padding
        preds, _ = self.predictor(student, real.sum(dim=1))
        neg_index, valid = sample_negatives(real, self.num_negatives)
        loss, accuracy = contrastive_loss(
            preds[real],
            teacher.detach()[real],
            neg_index,
            valid,
            self.logit_temp,
        )
        return {"loss": loss, "accuracy": accuracy, "num_frames": real.sum()}
