"""Masking, negatives, objective, front ends and recipe YAMLs."""

import pathlib

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from summary_ssl.lobes.frontends import FbankCNNFrontEnd, RawCNNFrontEnd
from summary_ssl.lobes.span_masking import compute_span_mask, sample_negatives
from summary_ssl.lobes.w2v_objective import W2V2Objective
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


def test_negatives_are_same_utterance_never_positive():
    torch.manual_seed(1)
    mask = compute_span_mask(torch.tensor([200, 80, 30]), 200)
    idx, valid = sample_negatives(mask, 50)
    utt = mask.nonzero()[:, 0]
    assert valid.all()
    assert torch.equal(utt[idx], utt[:, None].expand_as(idx))
    assert (idx != torch.arange(len(idx))[:, None]).all()


def test_negatives_with_a_single_masked_frame_are_flagged():
    mask = torch.zeros(2, 10, dtype=torch.bool)
    mask[0, 3] = True
    mask[1, 2:5] = True
    idx, valid = sample_negatives(mask, 4)
    assert valid.tolist() == [False, True, True, True]
    assert (idx >= 0).all() and (idx < 4).all()


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
