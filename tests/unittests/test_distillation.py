"""Distillation pieces: the DistilHuBERT loss, the student, the checks."""

import math

import pytest
import torch

from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd
from summary_ssl.lobes.objectives.distillation import (
    DistillationLoss,
    PredictionHeads,
    check_distillation_setup,
    distillation_loss,
    student_from_teacher,
)
from summary_ssl.pretrained import FrozenSSLEncoder, export_encoder


def toy_teacher(layers=4, d_model=32, strides=(2, 1), seed=0):
    torch.manual_seed(seed)
    return Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[16, 8], strides=list(strides)),
        ConformerEncoder(
            layers,
            d_model,
            64,
            4,
            kernel_size=3,
            attention_type="SummaryMixing",
        ),
        d_model=d_model,
    )


def paper_loss(pred, target, lengths, lam):
    """DistilHuBERT's formula, written out frame by frame: for each head,
    the mean over real frames of (1/D) ||h - p||_1 - lam log sigmoid(cos);
    summed over heads."""
    total = 0.0
    for h in range(pred.shape[0]):
        terms = []
        for b, n in enumerate(lengths):
            for t in range(n):
                p, y = pred[h, b, t].double(), target[h, b, t].double()
                l1 = (p - y).abs().sum() / p.numel()
                cos = (p @ y) / (p.norm() * y.norm())
                terms.append(l1 - lam * math.log(1 / (1 + math.exp(-cos))))
        total += sum(terms) / len(terms)
    return float(total)


def test_loss_is_the_paper_formula_and_ignores_padding():
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 2, 6, 5, generator=gen)
    target = torch.randn(3, 2, 6, 5, generator=gen)
    lengths = [6, 4]
    padding = torch.arange(6)[None, :] >= torch.tensor(lengths)[:, None]
    for lam in (1.0, 0.5):
        stats = distillation_loss(pred, target, padding, cos_weight=lam)
        expected = paper_loss(pred, target, lengths, lam)
        assert stats["loss"].item() == pytest.approx(expected, rel=1e-5)
    # Anything in the padded frames changes nothing.
    noisy = pred.clone()
    noisy[:, 1, 4:] = 1e3 * torch.randn(3, 2, 5, generator=gen)
    again = DistillationLoss(0.5)(noisy, target, padding)
    assert again["loss"].item() == pytest.approx(stats["loss"].item())
    assert set(stats) >= {"l1", "cos", "l1_0", "cos_2"}
    # A perfect prediction: L1 0, cos 1, loss = heads * -log sigmoid(1).
    perfect = distillation_loss(target, target, padding)
    assert perfect["l1"].item() == 0.0
    assert perfect["loss"].item() == pytest.approx(
        3 * -math.log(1 / (1 + math.exp(-1))), rel=1e-5
    )


def test_loss_gradient_reaches_only_the_predictions():
    pred = torch.randn(1, 2, 4, 3, requires_grad=True)
    target = torch.randn(1, 2, 4, 3)
    padding = torch.tensor([[False] * 4, [False, False, True, True]])
    distillation_loss(pred, target, padding)["loss"].backward()
    assert pred.grad[0, 1, 2:].abs().sum() == 0
    assert pred.grad[0, 0].abs().sum() > 0


def test_student_copies_the_teachers_first_layers():
    teacher = toy_teacher()
    student = student_from_teacher(teacher, num_layers=2)
    assert student.num_hidden_states == 3
    t_state, s_state = teacher.state_dict(), student.state_dict()
    assert student.init_report["skipped"] == []
    for name, value in s_state.items():
        assert torch.equal(value, t_state[name]), name
    random = student_from_teacher(
        teacher, num_layers=2, init_from_teacher=False
    )
    key = "encoder.layers.0.ffn_module1.1.weight"
    assert not torch.equal(random.state_dict()[key], t_state[key])


def test_student_with_another_mixer_and_width():
    teacher = toy_teacher()
    other = student_from_teacher(teacher, attention_type="RelPosMHAXL")
    assert other.encoder.attention_type == "RelPosMHAXL"
    skipped = other.init_report["skipped"]
    assert skipped and all(
        ".mha_layer." in n or "rel_pos" in n for n in skipped
    )
    assert other.init_report["copied"] > 0  # FFNs, convolutions, norms
    narrow = student_from_teacher(teacher, d_model=16, nhead=2)
    assert narrow.hidden_size == 16
    # The front end still comes from the teacher.
    for name, value in narrow.frontend.state_dict().items():
        assert torch.equal(value, teacher.frontend.state_dict()[name]), name
    check_distillation_setup(narrow, teacher, PredictionHeads(16, 32, [2, 4]))


def test_exported_student_loads_in_the_probes_encoder(tmp_path):
    teacher = toy_teacher()
    student = student_from_teacher(teacher, num_layers=2).eval()
    folder = export_encoder(student, tmp_path / "student")
    frozen = FrozenSSLEncoder(folder)
    assert (frozen.num_layers, frozen.out_dim) == (3, 32)
    wavs, lens = torch.randn(2, 8000), torch.tensor([1.0, 0.6])
    hidden, _ = frozen(wavs, lens)
    expected = student(wavs, lens)["hidden_states"]
    assert torch.allclose(hidden, expected)


def test_mismatches_the_heads_cannot_bridge_are_clear_errors():
    teacher = toy_teacher()
    frozen_like = teacher.requires_grad_(False)
    student = student_from_teacher(frozen_like, d_model=16, nhead=2)
    with pytest.raises(ValueError, match="student's hidden size is 16"):
        check_distillation_setup(student, teacher, PredictionHeads(32, 32, [4]))
    with pytest.raises(ValueError, match="teacher's hidden size is 32"):
        check_distillation_setup(student, teacher, PredictionHeads(16, 64, [4]))
    with pytest.raises(ValueError, match=r"teacher_layers \[12\] do not"):
        check_distillation_setup(
            student, teacher, PredictionHeads(16, 32, [4, 12])
        )
    # A student with another frame rate (its own front end).
    other_rate = toy_teacher(d_model=16, strides=(2, 2))
    with pytest.raises(ValueError, match="different number of frames"):
        check_distillation_setup(
            other_rate, teacher, PredictionHeads(16, 32, [4])
        )
    with pytest.raises(ValueError, match="ConformerEncoder"):
        student_from_teacher(torch.nn.Linear(2, 2))
