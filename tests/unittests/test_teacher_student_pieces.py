"""Pieces of teacher-student (S3LSpeech) pretraining: EMA teacher,
perturbations, loss, progressive encoder, schedule."""

import math

import pytest
import torch
import torch.nn as nn

from summary_ssl.lobes.ema_teacher import EMATeacher, ema_decay
from summary_ssl.lobes.frontends import padding_mask
from summary_ssl.lobes.perturbations import (
    NoiseMixer,
    RandomShift,
    SpecAugment,
    time_mask,
)
from summary_ssl.lobes.progressive import ProgressiveEncoder
from summary_ssl.lobes.s3lspeech import ProjectedEncoder, S3LEncoder
from summary_ssl.lobes.span_masking import sample_negatives
from summary_ssl.lobes.transformer import TransformerEncoder
from summary_ssl.lobes.ts_objective import TeacherStudentObjective
from summary_ssl.nnet.conv_stack import ConvStack
from summary_ssl.nnet.schedulers import OneCycleCosineScheduler

# ---- EMA teacher ---------------------------------------------------------


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


# ---- perturbations ---------------------------------------------------------


def _padded_feats(lengths, dim=16):
    """Features with non-zero garbage in the padding."""
    torch.manual_seed(1)
    lengths = torch.tensor(lengths)
    feats = torch.randn(len(lengths), int(lengths.max()), dim)
    feats[padding_mask(lengths, feats.shape[1])] = 7.0
    return feats, lengths


def test_spec_augment_never_touches_padding():
    feats, lengths = _padded_feats([200, 120, 37])
    augment = SpecAugment(
        freq_masks=3, freq_width=6, time_mask_ratio=0.05, time_width=10
    )
    padding = padding_mask(lengths, feats.shape[1])
    changed = torch.zeros_like(padding)
    for _ in range(20):
        out = augment(feats, lengths)
        assert torch.equal(out[padding], feats[padding])
        changed |= (out != feats).any(dim=-1)
    assert changed[~padding].float().mean() > 0.5  # real frames masked


def test_spec_augment_masks_in_proportion_to_each_length():
    torch.manual_seed(0)
    lengths = torch.tensor([2000, 400])
    fractions = torch.stack(
        [
            time_mask(lengths, 2000, 0.025, 20).float().sum(1) / lengths
            for _ in range(50)
        ]
    ).mean(0)
    # About 1 - exp(-0.025 * 10) = 22 % masked, whatever the length.
    assert 0.17 < fractions[0] < 0.27 and 0.17 < fractions[1] < 0.27


def test_noise_mixer_snr_and_padding():
    torch.manual_seed(0)
    wavs = torch.randn(3, 16000)
    wav_lens = torch.tensor([1.0, 0.5, 0.25])
    wavs[padding_mask(torch.round(wav_lens * 16000).long(), 16000)] = 0.5
    noisy = NoiseMixer(prob=1.0, snr_low=10.0, snr_high=10.0)(wavs, wav_lens)
    padding = padding_mask(torch.round(wav_lens * 16000).long(), 16000)
    assert torch.equal(noisy[padding], wavs[padding])
    # AddNoise keeps (1 - f) of the clean signal, f = 1 / (10^(SNR/20) + 1).
    f = 1 / (10 ** (10 / 20) + 1)
    for i, n in enumerate((16000, 8000, 4000)):
        clean = (1 - f) * wavs[i, :n]
        noise = noisy[i, :n] - clean
        snr = 20 * torch.log10(
            clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt()
        )
        assert float(snr) == pytest.approx(10.0, abs=0.5)


def test_noise_mixer_noises_a_fraction_of_utterances():
    torch.manual_seed(0)
    wavs = torch.randn(400, 100)
    noisy = NoiseMixer(prob=0.5)(wavs, torch.ones(400))
    noised = (noisy != wavs).any(dim=1).float().mean()
    assert 0.4 < float(noised) < 0.6


def test_random_shift_pads_around_the_real_frames():
    feats, lengths = _padded_feats([30, 12])
    shift = RandomShift(unit=4, min_shift=1, max_shift=3)
    for _ in range(10):
        out, new_lengths, left, right = shift(feats, lengths)
        assert 1 <= left <= 3 and 1 <= right <= 3
        assert torch.equal(new_lengths, lengths + 4 * (left + right))
        for b, n in enumerate(lengths.tolist()):
            start = 4 * left
            assert torch.equal(out[b, start : start + n], feats[b, :n])
            assert (out[b, :start] == 0).all()
            assert (out[b, start + n :] == 0).all()


def test_identity_settings_give_identity():
    feats, lengths = _padded_feats([50, 20])
    assert torch.equal(
        SpecAugment(freq_masks=0, time_mask_ratio=0.0)(feats, lengths), feats
    )
    wavs = torch.randn(2, 300)
    assert torch.equal(NoiseMixer(prob=0.0)(wavs, torch.ones(2)), wavs)
    out, new_lengths, left, right = RandomShift(max_shift=0)(feats, lengths)
    assert out is feats and new_lengths is lengths and left == right == 0


# ---- the teacher-student loss ----------------------------------------------


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


# ---- progressive encoder and S3LEncoder --------------------------------------


def _stage(kind, layers, attention_type):
    if kind == "transformer":
        return TransformerEncoder(
            layers,
            16,
            32,
            4,
            dropout=0.0,
            attention_type=attention_type,
            conv_pos_kernel=8,
            conv_pos_groups=4,
        )
    from summary_ssl.lobes.conformer import ConformerEncoder

    return ConformerEncoder(
        layers, 16, 32, 4, kernel_size=3, attention_type=attention_type
    )


@pytest.mark.parametrize(
    "kind, attention_type",
    [
        ("transformer", "FlashMHA"),
        ("transformer", "SummaryMixing"),
        ("transformer", "RelPosMHAXL"),
        ("conformer", "SummaryMixing"),
        ("conformer", "FlashMHA"),
    ],
)
def test_progressive_encoder_batch_equals_one_by_one(kind, attention_type):
    torch.manual_seed(0)
    enc = ProgressiveEncoder(
        _stage(kind, 2, attention_type),
        ConvStack(16, [(24, 5, 2), (16, 1, 1)]),
        _stage(kind, 1, attention_type),
    ).eval()
    lengths = torch.tensor([40, 27, 13])
    x = torch.randn(3, 40, 16)
    x[padding_mask(lengths, 40)] = 0.0
    with torch.no_grad():
        batch = enc(x, lengths, output_hidden_states=True)
        for b, n in enumerate(lengths.tolist()):
            alone = enc(x[b : b + 1, :n], lengths[b : b + 1], True)
            m = int(batch["lengths"][b])
            assert m == int(enc.output_lengths(n)) == alone["context"].shape[1]
            torch.testing.assert_close(
                batch["context"][b, :m], alone["context"][0], atol=1e-5, rtol=0
            )
            torch.testing.assert_close(
                batch["hidden_states"][:, b, :n],
                alone["hidden_states"][:, 0],
                atol=1e-5,
                rtol=0,
            )
            assert batch["hidden_states"][:, b, n:].abs().sum() == 0
    assert batch["hidden_states"].shape[0] == 1 + len(enc.layers) == 4


def _conv_only_net(n_mels=16):
    """A ProjectedEncoder with no layers: frame-wise but for its convs."""
    encoder = S3LEncoder(
        ConvStack(n_mels, [(16, 5, 2), (16, 5, 2), (16, 1, 1)]),
        ProgressiveEncoder(
            TransformerEncoder(0, 16, 32, 4, dropout=0.0, conv_pos_kernel=0),
            ConvStack(16, [(24, 5, 2), (16, 1, 1)]),
            TransformerEncoder(0, 16, 32, 4, dropout=0.0, conv_pos_kernel=0),
        ),
        n_mels=n_mels,
    )
    return ProjectedEncoder(encoder, proj_dim=8).eval()


def test_random_shift_unit_and_crop_align_teacher_and_student_frames():
    """With an encoder that only sees positions through its strided
    convolutions, the cropped output for the shifted input equals the
    output for the original: the shift unit (8) matches the encoder's
    downsampling and crop() takes the right frames."""
    torch.manual_seed(0)
    net = _conv_only_net()
    feats, lengths = _padded_feats([120, 75])
    feats[padding_mask(lengths, 120)] = 0.0
    shift = RandomShift(unit=8, min_shift=0, max_shift=4)
    with torch.no_grad():
        plain, padding, out_lengths = net(feats, lengths)
        for _ in range(5):
            shifted, new_lengths, left, right = shift(feats, lengths)
            out, _, shifted_lengths = net(shifted, new_lengths)
            assert torch.equal(shifted_lengths, out_lengths + left + right)
            cropped = RandomShift.crop(out, left, plain.shape[1])
            torch.testing.assert_close(
                cropped.masked_fill(padding.unsqueeze(-1), 0), plain
            )


def test_schedule_matches_pytorch_one_cycle():
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=3e-4)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=3e-4,
        total_steps=50,
        pct_start=0.08,
        anneal_strategy="cos",
        div_factor=1e6,
        final_div_factor=1,
    )
    ours = OneCycleCosineScheduler(3e-4, 0.08 * 50, 50)
    for step in range(1, 51):
        assert ours.calculate_lr(step) == pytest.approx(
            opt.param_groups[0]["lr"], rel=1e-9, abs=1e-15
        )
        opt.step()
        if step < 50:
            reference.step()
