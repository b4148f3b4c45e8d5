"""The shared encoder base (LayerStackEncoder) and the exported-encoder
base: both encoders keep their checkpoint keys and refuse streaming."""

import pytest
import torch

from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.exportable import ExportableEncoder
from summary_ssl.lobes.encoders.layer_stack import LayerStackEncoder
from summary_ssl.lobes.encoders.s3lspeech import S3LEncoder
from summary_ssl.lobes.encoders.transformer import TransformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder


def _conformer():
    return ConformerEncoder(
        1, 8, 16, 2, kernel_size=3, attention_type="RelPosMHAXL"
    )


def _transformer():
    return TransformerEncoder(
        1,
        8,
        16,
        2,
        conv_pos_kernel=4,
        conv_pos_groups=2,
        attention_type="RelPosMHAXL",
    )


# Checkpoints and exported encoders load by these names.
ENCODER_KEYS = {
    _conformer: ["norm.weight", "norm.bias", "rel_pos_enc.inv_freq"],
    _transformer: [
        "pos_conv.conv.bias",
        "pos_conv.conv.parametrizations.weight.original0",
        "pos_conv.conv.parametrizations.weight.original1",
        "norm.weight",
        "norm.bias",
        "rel_pos_enc.inv_freq",
    ],
}


@pytest.mark.parametrize("build", list(ENCODER_KEYS))
def test_encoder_state_dict_keys_outside_layers(build):
    encoder = build()
    assert isinstance(encoder, LayerStackEncoder)
    keys = [k for k in encoder.state_dict() if not k.startswith("layers.")]
    assert keys == ENCODER_KEYS[build]
    assert encoder.layers[0].mha_layer is not None


@pytest.mark.parametrize("build", list(ENCODER_KEYS))
def test_encoder_refuses_dynamic_chunk_training(build):
    with pytest.raises(NotImplementedError, match="dynamic chunk"):
        build()(torch.rand(1, 5, 8), dynchunktrain_config=object())


def test_norm_eps_as_before():
    assert _conformer().norm.eps == 1e-6
    assert _transformer().norm.eps == 1e-5


def test_exported_encoders_share_the_base():
    assert issubclass(Wav2Vec2Encoder, ExportableEncoder)
    assert issubclass(S3LEncoder, ExportableEncoder)
    lengths = ExportableEncoder.sample_lengths(
        torch.zeros(3, 1000), torch.tensor([1.0, 0.5, 0.1234])
    )
    assert lengths.tolist() == [1000, 500, 123]
