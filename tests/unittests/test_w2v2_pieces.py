"""Masking, negatives, objective, front ends and recipe YAMLs."""

import pathlib

import pytest
import torch
import torch.nn.functional as F
from hyperpyyaml import load_hyperpyyaml
from speechbrain.nnet.quantisers import GumbelVectorQuantizer

from summary_ssl.lobes.contrastive import slot_logits
from summary_ssl.lobes.frontends import FbankCNNFrontEnd, RawCNNFrontEnd
from summary_ssl.lobes.span_masking import (
    compute_span_mask,
    masked_slots,
    sample_slot_negatives,
    span_bounds,
)
from summary_ssl.lobes.w2v_objective import W2V2Objective
from summary_ssl.nnet.gumbel_quantiser import MaskedGumbelVectorQuantizer
from summary_ssl.toy import PRETRAIN_RECIPE


def test_span_mask_respects_padding_and_is_per_utterance():
    torch.manual_seed(0)
    lengths = torch.tensor([500, 300, 60, 12])
    mask = compute_span_mask(lengths, 500, mask_prob=0.65, mask_length=10)
    for b, n in enumerate(lengths.tolist()):
        assert not mask[b, n:].any()
    fractions = mask.sum(1).float() / lengths
    # Each utterance gets its own count, about mask_prob of it minus
    # overlaps (fairseq's ~0.49 at 0.65/10), not the shortest one's.
    assert 0.35 < fractions[0] < 0.65 and 0.35 < fractions[1] < 0.65
    assert mask.sum(1)[0] > 3 * mask.sum(1)[2]


def test_span_bounds_hold_for_every_length():
    """No utterance ever gets more spans or masked frames than
    span_bounds allows for its batch's padded length."""
    torch.manual_seed(3)
    for max_len in (1, 7, 12, 50, 333, 1000):
        lengths = torch.randint(1, max_len + 1, (64,))
        lengths[0] = max_len
        spans, frames = span_bounds(max_len, 0.65, 10, 2)
        for _ in range(20):
            mask = compute_span_mask(lengths, max_len)
            assert int(mask.sum(1).max()) <= frames
        assert frames <= max_len
        assert spans * 10 >= 0.65 * max_len + 1  # room for u ~ 1


def test_masked_slots_hold_the_masked_frames_in_order():
    torch.manual_seed(4)
    lengths = torch.tensor([120, 64, 9, 1])
    mask = compute_span_mask(lengths, 120)
    _, num_slots = span_bounds(120, 0.65, 10, 2)
    frames, counts, valid = masked_slots(mask, num_slots)
    assert frames.shape == (4, num_slots)
    for b in range(4):
        expected = mask[b].nonzero().squeeze(1)
        assert counts[b] == len(expected)
        assert torch.equal(frames[b, : counts[b]], expected)
        assert valid[b].sum() == counts[b]


def test_negatives_are_same_utterance_never_positive():
    torch.manual_seed(1)
    counts = torch.tensor([130, 50, 17, 2])
    idx, valid = sample_slot_negatives(counts, 140, 50)
    assert idx.shape == (4, 140, 50)
    for b, n in enumerate(counts.tolist()):
        own = idx[b, :n]
        assert bool((own >= 0).all() and (own < n).all())
        assert bool((own != torch.arange(n)[:, None]).all())
        assert bool(valid[b, :n].all()) and not valid[b, n:].any()
    # every masked frame gets drawn, and about uniformly
    assert idx[0, :130].unique().numel() == 130
    assert abs(idx[0, :130].float().mean() - 64.5) < 1.5
    assert idx[3, :2].tolist() == [[1] * 50, [0] * 50]


def test_negatives_with_a_single_masked_frame_are_flagged():
    idx, valid = sample_slot_negatives(torch.tensor([1, 3, 0]), 3, 4)
    assert valid.tolist() == [
        [False, False, False],
        [True, True, True],
        [False, False, False],
    ]
    assert (idx >= 0).all() and (idx < 3).all()


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


def test_fbank_frontend_frame_lengths_match_single_runs():
    fe = FbankCNNFrontEnd(n_mels=40, channels=[4, 4]).eval()
    wavs = torch.randn(3, 24000)
    lengths = torch.tensor([24000, 17000, 5000])
    latents, frames = fe(wavs, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, alone_frames = fe(wavs[b : b + 1, :n], torch.tensor([n]))
        assert alone_frames.item() == frames[b].item() == alone.shape[1]
        assert not latents[b, frames[b] :].any()
    assert fe.output_lengths(24000) == latents.shape[1]


def test_raw_frontend_lengths():
    fe = RawCNNFrontEnd(out_channels=[8] * 7)
    latents, frames = fe(torch.randn(2, 16000), torch.tensor([16000, 9000]))
    assert frames[0] == latents.shape[1]
    assert frames[1] == fe.output_lengths(torch.tensor(9000))


def _block(text):
    start = text.index("# >>> encoder block")
    end = text.index("# <<< encoder block")
    return text[:start], text[end:]


def test_recipe_yamls_differ_only_in_the_encoder_block():
    hparams = PRETRAIN_RECIPE / "hparams"
    texts = {p.name: p.read_text() for p in sorted(hparams.glob("*_w2v2.yaml"))}
    assert len(texts) == 3
    names = [n[: -len(".yaml")] for n in texts]

    def normalise(name, text):
        for n in names:
            text = text.replace(n, "NAME")
        head, tail = _block(text)
        return head.split("# ####", 2)[-1], tail  # skip the title comment

    reference = normalise(*next(iter(texts.items())))
    for name, text in texts.items():
        assert normalise(name, text) == reference, name


@pytest.mark.parametrize(
    "name",
    ["summarymixing_w2v2", "flash_conformer_w2v2", "mhsa_conformer_w2v2"],
)
def test_recipe_yaml_top_level_keys(name, tmp_path):
    path = PRETRAIN_RECIPE / "hparams" / f"{name}.yaml"
    with open(path) as f:
        hparams = load_hyperpyyaml(
            f,
            {
                "data_folder": "x",
                "output_folder": str(tmp_path),
                "num_encoder_layers": 1,
            },
        )
    for key in (
        "precision",
        "max_batch_length",
        "grad_accumulation_factor",
        "number_of_epochs",
        "optimizer_step_limit",
        "lr",
        "d_model",
        "num_encoder_layers",
        "nhead",
        "d_ffn",
        "attention_type",
    ):
        assert key in hparams, key
    assert len(hparams["encoder"].layers) == 1
    assert pathlib.Path(hparams["output_folder"]) == tmp_path


def test_device_fbank_is_speechbrains_with_buffers():
    """Same features as SpeechBrain's Fbank, same checkpoint keys, and
    its window and filter matrix are buffers (they move with .to(), so a
    GPU step copies nothing from the host)."""
    from speechbrain.lobes.features import Fbank

    from summary_ssl.lobes.fbank import DeviceFbank

    ours = DeviceFbank(n_mels=80, sample_rate=16000, hop_length=10)
    ref = Fbank(n_mels=80, sample_rate=16000, hop_length=10)
    wavs = 0.1 * torch.randn(2, 20000)
    torch.testing.assert_close(ours(wavs), ref(wavs))
    assert ours.state_dict().keys() == ref.state_dict().keys()
    buffers = dict(ours.named_buffers())
    assert {"compute_STFT.window", "mel_matrix"} <= set(buffers)
    moved = ours.to(torch.float64)
    assert moved.mel_matrix.dtype == torch.float64


def test_recipe_builds_the_papers_model(tmp_path):
    """summarymixing_w2v2.yaml builds the SummaryMixing SSL paper's
    released model: the mel_cnn_base front end (80 fbanks, two 1-D convs
    of 512 channels, kernel 3, strides 2 and 1, no bias; 512-d latents),
    sinusoidal positions, Swish inside SummaryMixing, LayerNorm eps 1e-5,
    and about 155 M parameters with the objective."""
    from speechbrain.nnet.activations import Swish

    path = PRETRAIN_RECIPE / "hparams" / "summarymixing_w2v2.yaml"
    with open(path) as f:
        hparams = load_hyperpyyaml(
            f, {"data_folder": "x", "output_folder": str(tmp_path)}
        )
    frontend = hparams["frontend"]
    assert frontend.out_dim == 512
    assert frontend.fbank.compute_fbanks.n_mels == 80
    convs = [(c.in_channels, c.out_channels) for c in frontend.convs]
    assert convs == [(80, 512), (512, 512)]
    for conv, stride in zip(frontend.convs, (2, 1)):
        assert isinstance(conv, torch.nn.Conv1d) and conv.bias is None
        assert conv.kernel_size == (3,) and conv.stride == (stride,)
    assert frontend.output_lengths(16000) == 48  # 50 Hz ("valid" convs)
    model = hparams["wav2vec2"]
    assert model.positions is not None
    layer = model.encoder.layers[0]
    assert isinstance(layer.mha_layer.activation, Swish)
    assert layer.mha_layer.mode == "SummaryMixing"
    assert layer.mha_layer.input_proj.groups == 8
    assert layer.norm1.eps == layer.norm2.eps == 1e-5
    total = sum(p.numel() for p in model.parameters())
    total += sum(p.numel() for p in hparams["objective"].parameters())
    assert 154e6 < total < 156e6


class _Fixed(torch.nn.Module):
    """Stands in for the filterbank: returns fixed features."""

    def __init__(self, feats):
        super().__init__()
        self.feats = feats

    def forward(self, wavs):
        return self.feats


def test_fbank_frontend_normalisation_scope():
    # A per-channel offset of the log filterbanks (a fixed spectral tilt,
    # as a speaker or a microphone gives) vanishes under the paper's
    # per-channel normalisation and stays under the per-utterance one.
    torch.manual_seed(0)
    feats = torch.randn(1, 60, 40)
    tilt = torch.linspace(-2.0, 2.0, 40)
    wavs, lengths = torch.zeros(1, 160 * 59), torch.tensor([160 * 59])
    for scope, same in (("channel", True), ("utterance", False)):
        fe = FbankCNNFrontEnd(n_mels=40, channels=[8, 4], normalisation=scope)
        outs = []
        for x in (feats, feats + tilt):
            fe.fbank = _Fixed(x)
            outs.append(fe(wavs, lengths)[0])
        assert torch.allclose(outs[0], outs[1], atol=1e-5) == same, scope
    with pytest.raises(ValueError, match="normalisation"):
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4], normalisation="global")


def test_feature_grad_mult_scales_only_the_front_end_gradient():
    from summary_ssl.lobes.conformer import ConformerEncoder
    from summary_ssl.lobes.wav2vec2 import Wav2Vec2Encoder

    grads, outs = {}, {}
    for mult in (1.0, 0.1):
        torch.manual_seed(0)
        model = Wav2Vec2Encoder(
            FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
            ConformerEncoder(1, 16, 32, 2, kernel_size=3),
            d_model=16,
            dropout_input=0.0,
            feature_grad_mult=mult,
        ).eval()
        torch.manual_seed(1)
        out = model(torch.randn(2, 8000), torch.tensor([1.0, 0.7]))
        out["context"].pow(2).sum().backward()
        outs[mult] = out["context"].detach()
        grads[mult] = {
            n: p.grad.clone()
            for n, p in model.named_parameters()
            if p.grad is not None
        }
    torch.testing.assert_close(outs[0.1], outs[1.0])
    for name, grad in grads[1.0].items():
        scale = 0.1 if name.startswith("frontend.") else 1.0
        torch.testing.assert_close(grads[0.1][name], scale * grad)


def test_feature_grad_mult_zero_freezes_the_front_end():
    from summary_ssl.lobes.conformer import ConformerEncoder
    from summary_ssl.lobes.wav2vec2 import Wav2Vec2Encoder

    def build(mult):
        return Wav2Vec2Encoder(
            FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
            ConformerEncoder(1, 16, 32, 2, kernel_size=3),
            d_model=16,
            feature_grad_mult=mult,
        )

    model = build(0)
    out = model(torch.randn(2, 8000), torch.tensor([1.0, 0.7]))
    out["context"].pow(2).sum().backward()
    for name, p in model.named_parameters():
        frozen = name.startswith("frontend.")
        assert p.requires_grad != frozen, name
        if name != "mask_emb":  # no mask given here
            assert (p.grad is None) == frozen, name
    with pytest.raises(ValueError, match="feature_grad_mult"):
        build(-0.1)


def test_encoder_returns_only_the_hidden_states_asked_for():
    """``output_hidden_states`` as indices returns those states only, in
    that order, equal to the full stack's; False or none asked: no
    ``hidden_states``."""
    from summary_ssl.lobes.conformer import ConformerEncoder
    from summary_ssl.lobes.wav2vec2 import Wav2Vec2Encoder

    torch.manual_seed(0)
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
        ConformerEncoder(2, 16, 32, 2, kernel_size=3),
        d_model=16,
    ).eval()
    wavs, lens = torch.randn(2, 8000), torch.tensor([1.0, 0.7])
    with torch.no_grad():
        full = model(wavs, lens, output_hidden_states=True)
        assert full["hidden_states"].shape[0] == 3
        for asked in ([1], [2, 0]):
            out = model(wavs, lens, output_hidden_states=asked)
            torch.testing.assert_close(
                out["hidden_states"], full["hidden_states"][asked]
            )
            torch.testing.assert_close(out["context"], full["context"])
        for none in (False, []):
            out = model(wavs, lens, output_hidden_states=none)
            assert "hidden_states" not in out
