"""The teacher-student loss (lobes.objectives.teacher_student)."""

import pytest
import torch

from summary_ssl.lobes.augment.span_masking import sample_negatives
from summary_ssl.lobes.objectives.teacher_student import TeacherStudentObjective
from summary_ssl.nnet.padding import padding_mask


def _direct_loss(preds, targets, real, neg_index, temp):
    """The loss written frame by frame from its definition."""
    where = real.nonzero().tolist()  # flat index -> (b, t)
    total, count, hits = 0.0, 0, 0
    for i, (b, t) in enumerate(where):
        others = [where[j] for j in neg_index[i].tolist()]
        assert all(ob == b and ot != t for ob, ot in others)
        pred, target = preds[b, t], targets[b, t]
        scores = [torch.nn.functional.cosine_similarity(pred, target, 0)]
        for ob, ot in others:
            negative = targets[ob, ot]
            if torch.equal(negative, target):
                scores.append(torch.tensor(float("-inf")))
            else:
                scores.append(
                    torch.nn.functional.cosine_similarity(pred, negative, 0)
                )
        logits = torch.stack(scores) / temp
        total += -torch.log_softmax(logits, 0)[0]
        hits += int(logits.argmax() == 0)
        count += 1
    return total / count, hits / count


def test_teacher_student_loss_matches_a_direct_implementation():
    torch.manual_seed(0)
    objective = TeacherStudentObjective(
        8, [(8, 3, 1), (8, 1, 1)], dropout=0.0, num_negatives=5, logit_temp=0.5
    ).double()
    student = torch.randn(3, 12, 8, dtype=torch.float64)
    teacher = torch.randn(3, 12, 8, dtype=torch.float64)
    teacher[0, 4] = teacher[0, 2]  # a negative equal to its positive
    lengths = torch.tensor([12, 7, 4])
    padding = padding_mask(lengths, 12)
    torch.manual_seed(5)
    out = objective(student, teacher, padding)
    torch.manual_seed(5)
    neg_index, valid = sample_negatives(~padding, 5)
    assert valid.all()
    preds, _ = objective.predictor(student, lengths)
    loss, accuracy = _direct_loss(preds, teacher, ~padding, neg_index, 0.5)
    # The loss is computed in float32 (as under bf16 autocast).
    torch.testing.assert_close(out["loss"].double(), loss, rtol=1e-5, atol=0)
    assert float(out["accuracy"]) == pytest.approx(accuracy)
    assert int(out["num_frames"]) == 23


def test_teacher_student_loss_ignores_padding_values():
    objective = TeacherStudentObjective(
        8, [(8, 3, 1), (8, 1, 1)], dropout=0.0, num_negatives=5
    )
    student, teacher = torch.randn(2, 10, 8), torch.randn(2, 10, 8)
    padding = padding_mask(torch.tensor([10, 6]), 10)
    torch.manual_seed(3)
    a = objective(student, teacher, padding)["loss"]
    student[1, 6:], teacher[1, 6:] = 100.0, -3.0
    torch.manual_seed(3)
    b = objective(student, teacher, padding)["loss"]
    torch.testing.assert_close(a, b)
