"""The EMA teacher (lobes.objectives.ema_teacher)."""

import math

import pytest
import torch
import torch.nn as nn

from summary_ssl.lobes.objectives.ema_teacher import EMATeacher, ema_decay


def _net():
    return nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 3))


def test_ema_update_is_exact():
    torch.manual_seed(0)
    student = _net().double()
    teacher = EMATeacher(student, total_steps=10)
    assert teacher.update(student, step=0) == 0.0  # step 0: a copy
    for own, other in zip(teacher.parameters(), student.parameters()):
        assert torch.equal(own, other)
    for step in (1, 5, 10, 12):
        before = [p.clone() for p in teacher.model.parameters()]
        with torch.no_grad():
            for p in student.parameters():
                p.add_(torch.randn_like(p))
        decay = teacher.update(student, step)
        expected = 1.0 + 0.5 * (0.995 - 1.0) * (
            1 + math.cos(math.pi * min(step / 10, 1.0))
        )
        assert decay == pytest.approx(expected, abs=1e-15)
        for own, old, new in zip(
            teacher.model.parameters(), before, student.parameters()
        ):
            torch.testing.assert_close(
                own, decay * old + (1 - decay) * new, rtol=1e-15, atol=1e-15
            )


def test_ema_decay_schedules():
    assert ema_decay(0, 100) == 0.995
    assert ema_decay(100, 100) == ema_decay(1000, 100) == 1.0
    assert ema_decay(25, 100) < ema_decay(50, 100) < ema_decay(75, 100)
    assert ema_decay(50, 100, schedule="linear") == pytest.approx(0.9975)
    assert ema_decay(50, 100, schedule="constant") == 0.995
    with pytest.raises(ValueError, match="schedule"):
        EMATeacher(_net(), 10, schedule="step")


def test_teacher_gets_no_gradients():
    student = _net()
    teacher = EMATeacher(student, total_steps=10)
    x = torch.randn(5, 4)
    out = teacher(x)
    assert not out.requires_grad
    loss = (student(x) - out).pow(2).sum()
    loss.backward()
    assert all(p.grad is not None for p in student.parameters())
    assert all(
        p.grad is None and not p.requires_grad for p in teacher.parameters()
    )


def test_teacher_refuses_a_different_student():
    teacher = EMATeacher(_net(), total_steps=10)
    with pytest.raises(ValueError, match="parameters"):
        teacher.update(nn.Linear(4, 3), step=1)
