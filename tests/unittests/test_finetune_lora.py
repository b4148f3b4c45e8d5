"""LoRA on an exported encoder: what it reaches, what it leaves, merging."""

import copy

import pytest
import torch
import torch.nn as nn
from speechbrain.nnet.adapters import LoRA

from summary_ssl.finetune.lora import (
    GroupedLoRA,
    add_lora,
    find_lora_targets,
    is_lora_parameter,
    merge_lora,
)
from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd
from summary_ssl.nnet.grouped_linear import GroupedLinear

# Per Conformer layer: the mixer's adapted linears for each mixer.
MIXER_TARGETS = {
    "SummaryMixing": [
        "input_proj",
        "local_layers.0",
        "summary_layers.0",
        "combine_local",
        "combine_summary",
    ],
    "SummaryMixing-fast": ["input_proj", "combine_local", "combine_summary"],
    "FlashMHA": ["in_proj", "out_proj"],
    "RelPosMHAXL": ["out_proj", "linear_pos"],
}
# ... and the linears every layer has.
LAYER_TARGETS = [
    "ffn_module1.1",
    "ffn_module1.4",
    "ffn_module2.1",
    "ffn_module2.4",
    "convolution_module.pointwise_in",
    "convolution_module.after_conv.2",
]
# Names of the linears inside a LoRA wrapper.
WRAPPED = ("pretrained_module", "adapter_down_proj", "adapter_up_proj")


def tiny_encoder(attention_type="SummaryMixing-fast", seed=0):
    """A 2-layer, 32-dim wav2vec 2.0 encoder (as pretrained.py's doctest)."""
    torch.manual_seed(seed)
    return Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
        ConformerEncoder(
            2, 32, 64, 4, kernel_size=3, attention_type=attention_type
        ),
        d_model=32,
    )


def tiny_batch():
    """Two utterances, the second one padded."""
    generator = torch.Generator().manual_seed(1)
    wavs = torch.randn(2, 8000, generator=generator)
    return wavs, torch.tensor([1.0, 0.6])


def backbone_state(model):
    """Clones of every non-adapter parameter and buffer."""
    return {
        name: tensor.detach().clone()
        for name, tensor in model.state_dict(keep_vars=True).items()
        if not is_lora_parameter(name)
    }


def randomize_adapters(model, std=0.1):
    """Non-zero LoRA updates, as after some training."""
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if is_lora_parameter(name):
                param.copy_(torch.randn(param.shape, generator=generator) * std)


@pytest.mark.parametrize("attention_type", sorted(MIXER_TARGETS))
def test_lora_reaches_mixer_and_feed_forward(attention_type):
    model = tiny_encoder(attention_type)
    report = add_lora(model, rank=2)
    for i in range(2):
        for name in MIXER_TARGETS[attention_type]:
            module = model.get_submodule(f"encoder.layers.{i}.mha_layer.{name}")
            assert isinstance(module, (LoRA, GroupedLoRA)), name
        for name in LAYER_TARGETS:
            module = model.get_submodule(f"encoder.layers.{i}.{name}")
            assert isinstance(module, LoRA), name
    # No linear of the layers is left without an adapter.
    for name, module in model.encoder.layers.named_modules():
        if isinstance(module, (nn.Linear, GroupedLinear)):
            assert name.rpartition(".")[2] in WRAPPED, name
    n_adapted = 2 * (len(MIXER_TARGETS[attention_type]) + len(LAYER_TARGETS))
    assert len(report.adapted) == n_adapted
    # What LoRA cannot reach is listed, the depthwise convolutions always.
    assert "encoder.layers.0.convolution_module.depthwise.weight" in (
        report.skipped
    )
    if attention_type == "RelPosMHAXL":
        assert "encoder.layers.1.mha_layer.in_proj_weight" in report.skipped


def test_summary_mixing_heads_get_block_diagonal_adapters():
    model = tiny_encoder("SummaryMixing")  # nhead=4: grouped projections
    add_lora(model, rank=2)
    lora = model.encoder.layers[0].mha_layer.local_layers[0]
    assert isinstance(lora, GroupedLoRA)
    assert lora.adapter_down_proj.groups == 4
    randomize_adapters(model)
    merged = merge_lora(model).encoder.layers[0].mha_layer.local_layers[0]
    dense = merged.dense_weight()  # (out, in): still block-diagonal
    blocks = torch.block_diag(*[torch.ones(8, 8)] * 4).bool()
    assert dense[~blocks].abs().max() == 0
    assert not torch.equal(merged.weight, lora.pretrained_module.weight)


def test_unadaptable_modules_are_reported_or_refused():
    model = tiny_encoder("regularMHA")
    report = find_lora_targets(model)
    # torch's MultiheadAttention reads its weights in a fused kernel.
    assert "encoder.layers.0.mha_layer.att.out_proj.weight" in report.skipped
    assert "encoder.layers.0.mha_layer.att.in_proj_weight" in report.skipped
    assert not any(".att." in name for name in report.adapted)
    with pytest.raises(ValueError, match="MultiheadAttention"):
        find_lora_targets(model, ["encoder.layers.0.mha_layer.att.out_proj"])
    with pytest.raises(ValueError, match="Conv1d"):
        find_lora_targets(
            model, ["encoder.layers.0.convolution_module.depthwise"]
        )
    with pytest.raises(ValueError, match="matches no"):
        find_lora_targets(model, ["encoder.layer.*"])  # a typo
    add_lora(model, rank=2)
    with pytest.raises(ValueError, match="already has LoRA"):
        add_lora(model, rank=2)


@pytest.mark.parametrize("attention_type", ["SummaryMixing", "FlashMHA"])
def test_training_step_changes_only_the_adapters(attention_type):
    model = tiny_encoder(attention_type).train()
    add_lora(model, rank=2, alpha=4)
    before = backbone_state(model)
    adapters = {
        n: p.detach().clone()
        for n, p in model.named_parameters()
        if is_lora_parameter(n)
    }
    # Every parameter goes to the optimizer, with weight decay: a backbone
    # weight that got a gradient (or decay) would move.
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    wavs, lens = tiny_batch()
    target = torch.randn(2, 23, 32)
    for _ in range(3):
        optimizer.zero_grad()
        loss = (model(wavs, lens)["context"] * target).sum()
        loss.backward()
        optimizer.step()
    after = backbone_state(model)
    assert before.keys() == after.keys()
    for name in before:
        assert torch.equal(before[name], after[name]), name
    for name, param in model.named_parameters():
        if is_lora_parameter(name):
            assert not torch.equal(param, adapters[name]), name
        else:
            assert param.grad is None, name


@pytest.mark.parametrize("attention_type", sorted(MIXER_TARGETS))
def test_merged_model_matches_and_loads_into_fresh_encoder(attention_type):
    model = tiny_encoder(attention_type).eval()
    original = copy.deepcopy(model)
    add_lora(model, rank=4, alpha=8)
    randomize_adapters(model)
    wavs, lens = tiny_batch()
    with torch.no_grad():
        adapted = model(wavs, lens)["context"]
        merged = merge_lora(model)
        assert isinstance(model.encoder.layers[0].ffn_module1[1], LoRA)
        assert not any(
            isinstance(m, (LoRA, GroupedLoRA)) for m in merged.modules()
        )
        fresh = tiny_encoder(attention_type, seed=3).eval()
        fresh.load_state_dict(merged.state_dict())  # strict
        reloaded = fresh(wavs, lens)["context"]
        unadapted = original(wavs, lens)["context"]
    assert (adapted - unadapted).abs().max() > 1e-2  # the update matters
    torch.testing.assert_close(reloaded, adapted, rtol=1e-5, atol=1e-5)
