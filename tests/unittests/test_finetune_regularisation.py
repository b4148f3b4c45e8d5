"""summary_ssl.finetune.regularisation: fairseq's fine-tuning dropout and
layerdrop set on a pretrained encoder."""

import pytest
import torch
import torch.nn as nn

from summary_ssl.finetune.regularisation import (
    FAIRSEQ_FINETUNING,
    set_regularisation,
)
from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.transformer import TransformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd

ATTENTIONS = ["RelPosMHAXL", "regularMHA", "FlashMHA", "SummaryMixing"]


def conformer(attention_type):
    return ConformerEncoder(
        2,
        16,
        32,
        2,
        kernel_size=3,
        attention_type=attention_type,
        dropout=0.2,
        layerdrop_prob=0.05,
    )


def dropouts(model):
    return {
        name: m.p
        for name, m in model.named_modules()
        if isinstance(m, nn.Dropout)
    }


def attention_dropouts(model):
    out = {}
    for name, m in model.named_modules():
        if hasattr(m, "dropout_att"):
            out[name] = m.dropout_att.p
        elif isinstance(m.__dict__.get("dropout"), float):
            out[name] = m.dropout
    return out


@pytest.mark.parametrize("attention_type", ATTENTIONS)
def test_conformer_takes_fairseq_finetuning_values(attention_type):
    encoder = conformer(attention_type)
    set_regularisation(encoder, **FAIRSEQ_FINETUNING)
    for name, p in dropouts(encoder).items():
        activation = name.endswith(("ffn_module1.3", "ffn_module2.3"))
        assert p == (0.1 if activation else 0.0), name
    if attention_type != "SummaryMixing":
        attention = attention_dropouts(encoder)
        assert len(attention) == 2 and set(attention.values()) == {0.0}
    assert encoder.layerdrop_prob == 0.1


def test_transformer_ffn_gets_an_activation_dropout_without_new_keys():
    torch.manual_seed(0)
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=20, channels=[8, 8]),
        TransformerEncoder(2, 16, 32, 2, conv_pos_kernel=0, dropout=0.1),
        d_model=16,
    )
    keys = list(model.state_dict())
    wavs, lens = torch.randn(2, 4000), torch.tensor([1.0, 0.7])
    model.eval()
    before = model(wavs, lens, output_hidden_states=False)["context"]
    counts = set_regularisation(model, **FAIRSEQ_FINETUNING)
    assert counts["activation_dropout"] == 2 and counts["layerdrop"] == 1
    assert list(model.state_dict()) == keys
    # Eval mode: the encoder computes what it did.
    after = model(wavs, lens, output_hidden_states=False)["context"]
    assert torch.equal(after, before)
    layer = model.encoder.layers[0]
    assert layer.ffn[1][-1].p == 0.1
    assert layer.dropout.p == 0.0 and model.dropout_input.p == 0.0
    # A second call sets the same dropout, it does not wrap again.
    set_regularisation(model, activation_dropout=0.3)
    assert isinstance(layer.ffn[1][0], nn.GELU) and layer.ffn[1][1].p == 0.3
    # A later call without activation_dropout leaves that one alone.
    set_regularisation(model, dropout=0.2)
    assert layer.ffn[1][1].p == 0.3 and layer.dropout.p == 0.2


def test_activation_dropout_acts_in_training():
    torch.manual_seed(0)
    encoder = TransformerEncoder(1, 16, 64, 2, conv_pos_kernel=0, dropout=0.0)
    x = torch.randn(2, 9, 16)
    encoder.train()
    plain = encoder(x)[0]
    set_regularisation(encoder, activation_dropout=0.0)
    assert torch.equal(encoder(x)[0], plain)
    set_regularisation(encoder, activation_dropout=0.5)
    assert not torch.allclose(encoder(x)[0], plain)


def test_none_keeps_the_pretrained_values():
    encoder = conformer("RelPosMHAXL")
    before, attention = dropouts(encoder), attention_dropouts(encoder)
    counts = set_regularisation(encoder)
    assert counts == dict.fromkeys(counts, 0)
    assert dropouts(encoder) == before
    assert attention_dropouts(encoder) == attention
    assert encoder.layerdrop_prob == 0.05


def test_a_setting_nothing_can_take_is_an_error():
    summary_only = conformer("SummaryMixing")
    with pytest.raises(ValueError, match="attention_dropout=0.1 asked"):
        set_regularisation(summary_only, attention_dropout=0.1)
    set_regularisation(summary_only, attention_dropout=0.0)  # nothing to do
    with pytest.raises(ValueError, match="no layer stack"):
        set_regularisation(nn.Linear(2, 2), layerdrop=0.1)
    with pytest.raises(ValueError, match="no feed-forward block"):
        set_regularisation(nn.Linear(2, 2), activation_dropout=0.1)
    with pytest.raises(ValueError, match=r"layerdrop must be in \[0, 1\)"):
        set_regularisation(summary_only, layerdrop=1.0)
    with pytest.raises(ValueError, match="got 'None'"):  # YAML wants null
        set_regularisation(summary_only, dropout="None")
