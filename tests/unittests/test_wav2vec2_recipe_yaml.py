"""The wav2vec 2.0 recipe's YAML files: one model, encoder blocks apart."""

import pathlib

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from tools.toy import PRETRAIN_RECIPE, PRETRAIN_TOY_OVERRIDES


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
    # Every key that the toy runs override (precision, batching, sizes,
    # lr...: tools/toy), and the attention type.
    for key in (*PRETRAIN_TOY_OVERRIDES, "attention_type"):
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
