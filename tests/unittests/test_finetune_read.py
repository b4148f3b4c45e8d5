"""READ: a small side network, no gradient through the frozen backbone."""

import pytest
import torch
import torch.nn.functional as F

from summary_ssl.finetune.adaptation import AdaptedEncoder
from summary_ssl.finetune.read import ReadSideNetwork
from tests.unittests.test_finetune_lora import tiny_batch, tiny_encoder


def read_encoder(attention_type="SummaryMixing-fast", hidden=16):
    return AdaptedEncoder(
        tiny_encoder(attention_type), "read", read_hidden=hidden
    )


@pytest.mark.parametrize("attention_type", ["SummaryMixing", "RelPosMHAXL"])
def test_output_at_init_is_the_backbone_output(attention_type):
    model = read_encoder(attention_type).train()
    wavs, lens = tiny_batch()
    features, frame_lengths = model(wavs, lens)
    with torch.no_grad():
        out = model.encoder(wavs, lens, output_hidden_states=False)
    assert torch.equal(features, out["context"])
    assert torch.equal(frame_lengths, out["frame_lengths"])
    assert features.requires_grad  # the side network is in the graph


def test_no_graph_through_the_backbone():
    model = read_encoder()
    # Even with the backbone's weights set to train, nothing may build a
    # graph through it: the backbone runs under no_grad.
    model.encoder.requires_grad_(True)
    seen = {}

    def keep_inputs(module, args):
        seen["hidden_states"], seen["final"] = args[0], args[1]

    model.side.register_forward_pre_hook(keep_inputs)
    wavs, lens = tiny_batch()
    features, _ = model(wavs, lens)
    assert seen["hidden_states"].shape == (3, 2, 23, 32)
    assert not seen["hidden_states"].requires_grad
    assert not seen["final"].requires_grad
    features.pow(2).sum().backward()
    for name, param in model.encoder.named_parameters():
        assert param.grad is None, name
    assert model.side.up.weight.grad.abs().sum() > 0


def test_training_steps_leave_the_backbone_bit_identical():
    model = read_encoder().train()
    assert not model.encoder.training  # the frozen backbone stays in eval
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    side_before = {k: v.clone() for k, v in model.side.state_dict().items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    wavs, lens = tiny_batch()
    target = torch.randn(2, 23, 32)
    for _ in range(3):
        optimizer.zero_grad()
        features, _ = model(wavs, lens)
        (features * target).sum().backward()
        optimizer.step()
    for name, tensor in model.encoder.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    for name, tensor in model.side.state_dict().items():
        assert not torch.equal(tensor, side_before[name]), name
    # Trained, the correction is no longer zero.
    features, _ = model(wavs, lens)
    with torch.no_grad():
        context = model.encoder(wavs, lens, output_hidden_states=False)
    assert not torch.allclose(features, context["context"])


def test_padding_frames_are_ignored():
    torch.manual_seed(0)
    side = ReadSideNetwork(8, hidden_size=4)
    torch.nn.init.normal_(side.up.weight)  # a non-zero correction
    hidden = torch.randn(3, 2, 6, 8)
    final = torch.randn(2, 6, 8)
    padding = torch.arange(6)[None, :] >= torch.tensor([[6], [4]])
    out = side(hidden, final, padding)
    # No correction on padded frames; their content changes nothing.
    assert torch.equal(out[padding], final[padding])
    noisy = hidden.clone()
    noisy[:, padding] = 1e3
    assert torch.equal(side(noisy, final, padding), out)
    # A real frame's correction depends on its own frame only.
    alone = side(hidden[:, 1:, :4], final[1:, :4])
    torch.testing.assert_close(alone[0], out[1, :4])
    assert not torch.allclose(out[~padding], final[~padding])


def test_side_network_is_small():
    # Base-size encoder (D=768, 12 layers, ~95M parameters), H=128.
    side = ReadSideNetwork(768, hidden_size=128)
    D, H = 768, 128
    assert side.num_parameters() == (D * H + H) + (2 * H * H + 2 * H) + (
        H * D + D
    )
    assert side.num_parameters() < 0.003 * 95e6
    model = read_encoder(hidden=16)
    backbone = sum(p.numel() for p in model.backbone_parameters())
    assert model.trainable_parameters() == model.side.num_parameters()
    assert model.trainable_parameters() < 0.1 * backbone


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="rnn, gru, lstm"):
        ReadSideNetwork(8, cell="transformer")
    for cell in ("gru", "lstm"):
        side = ReadSideNetwork(8, hidden_size=4, cell=cell)
        final = torch.randn(2, 3, 8)
        assert torch.equal(side(torch.randn(4, 2, 3, 8), final), final)


def test_mean_aggregate_reads_every_layer_state():
    torch.manual_seed(0)
    last = ReadSideNetwork(8, hidden_size=4, cell="gru")
    torch.nn.init.normal_(last.up.weight)  # a non-zero correction
    mean = ReadSideNetwork(8, hidden_size=4, cell="gru", aggregate="mean")
    mean.load_state_dict(last.state_dict())  # the same weights
    hidden, final = torch.randn(3, 2, 5, 8), torch.zeros(2, 5, 8)
    states, _ = last.rnn(last.down(F.layer_norm(hidden, (8,))).flatten(1, 2))
    expected = last.up(states.mean(0)).view(2, 5, 8)
    torch.testing.assert_close(mean(hidden, final), expected)
    torch.testing.assert_close(
        last(hidden, final), last.up(states[-1]).view(2, 5, 8)
    )
    with pytest.raises(ValueError, match="valid: last, mean"):
        ReadSideNetwork(8, aggregate="max")


def test_read_options_reach_the_side_network():
    model = AdaptedEncoder(
        tiny_encoder("SummaryMixing-fast"),
        "read",
        read_hidden=8,
        read_cell="gru",
        read_aggregate="mean",
    )
    assert isinstance(model.side.rnn, torch.nn.GRU)
    assert model.side.aggregate == "mean"
