"""AdaptedEncoder: the four adaptations, what trains, freezing, export."""

import pytest
import torch

from summary_ssl.finetune.adaptation import ADAPTATIONS, AdaptedEncoder
from summary_ssl.finetune.lora import is_lora_parameter
from summary_ssl.pretrained import build_encoder, export_encoder
from tests.unittests.test_finetune_lora import (
    randomize_adapters,
    tiny_batch,
    tiny_encoder,
)


def adapted(adaptation, attention_type="SummaryMixing-fast", **kwargs):
    kwargs.setdefault("read_hidden", 16)
    return AdaptedEncoder(tiny_encoder(attention_type), adaptation, **kwargs)


def count(params):
    return sum(p.numel() for p in params)


def test_trainable_parameters_per_adaptation():
    models = {name: adapted(name) for name in ADAPTATIONS}
    encoder = tiny_encoder()
    total = count(encoder.parameters())
    frontend = count(encoder.frontend.parameters())
    n = {name: m.trainable_parameters() for name, m in models.items()}
    assert n["frozen"] == 0
    assert n["full"] == total - frontend  # all but the front end
    assert 0 < n["lora"] < n["full"] / 2
    assert 0 < n["read"] < n["full"] / 2
    lora = models["lora"]
    assert n["lora"] == count(
        p for name, p in lora.named_parameters() if is_lora_parameter(name)
    )
    assert n["read"] == models["read"].side.num_parameters()
    for name, model in models.items():  # the backbone is the same size
        assert count(model.backbone_parameters()) == total, name
        assert model.out_dim == 32


def test_unknown_adaptation_names_the_options():
    with pytest.raises(ValueError) as error:
        adapted("adapter")
    for name in ADAPTATIONS:
        assert name in str(error.value)


@pytest.mark.parametrize("adaptation", ADAPTATIONS)
def test_forward_shapes_lengths_and_padding(adaptation):
    model = adapted(adaptation).eval()
    wavs, lens = tiny_batch()
    features, frame_lengths = model(wavs, lens)
    out = model.encoder(wavs, lens, output_hidden_states=False)
    assert features.shape == (2, 23, 32)
    assert torch.equal(frame_lengths, out["frame_lengths"])
    assert features[1, frame_lengths[1] :].abs().max() == 0
    assert features.requires_grad == (adaptation != "frozen")


def test_masks_reach_the_encoder():
    model = adapted("frozen")
    wavs, lens = tiny_batch()
    mask = torch.zeros(2, 23, dtype=torch.bool)
    mask[:, 5:9] = True
    channel_mask = torch.zeros(2, 32, dtype=torch.bool)
    channel_mask[:, :4] = True
    plain, _ = model(wavs, lens)
    masked, _ = model(wavs, lens, mask=mask, channel_mask=channel_mask)
    direct = model.encoder(
        wavs,
        lens,
        mask=mask,
        output_hidden_states=False,
        channel_mask=channel_mask,
    )["context"]
    assert torch.equal(masked, direct)
    assert not torch.allclose(masked, plain)


def test_frozen_backbone_stays_in_eval_mode():
    for adaptation in ("frozen", "read"):
        model = adapted(adaptation).train()
        assert not model.encoder.training, adaptation
    for adaptation in ("full", "lora"):  # dropout as in training
        model = adapted(adaptation).train()
        assert model.encoder.training, adaptation
        assert not model.eval().encoder.training


def grads_after_step(model, head):
    """Which parameters got a gradient from one forward and backward."""
    model.zero_grad(set_to_none=True)
    head.zero_grad(set_to_none=True)
    features, _ = model(*tiny_batch())
    head(features).sum().backward()
    return {
        name
        for name, param in model.named_parameters()
        if param.grad is not None
    }


def test_full_front_end_always_frozen_and_encoder_freezable():
    model = adapted("full").train()
    head = torch.nn.Linear(32, 5)
    frontend = {
        f"encoder.frontend.{name}"
        for name, _ in model.encoder.frontend.named_parameters()
    }
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    got = grads_after_step(model, head)
    assert got and not got & frontend
    assert "encoder.encoder.layers.0.ffn_module1.1.weight" in got
    # fairseq's freeze_finetune_updates: no gradient while frozen...
    model.set_encoder_frozen(True)
    assert model.encoder_frozen and model.encoder.training
    assert grads_after_step(model, head) == set()
    assert head.weight.grad is not None  # the head still trains
    # ... and the optimizer's parameters are unchanged, then released.
    assert {n for n, p in model.named_parameters() if p.requires_grad} == (
        trainable
    )
    model.set_encoder_frozen(False)
    assert grads_after_step(model, head) == got


@pytest.mark.parametrize("adaptation", ["lora", "read"])
def test_head_only_phase_freezes_what_lora_and_read_train(adaptation):
    """set_encoder_frozen is the one head-only phase of every adaptation:
    the adapters / side network get no gradient while frozen (their flags
    unchanged, so the optimizer keeps them), then the same ones again."""
    head = torch.nn.Linear(32, 5)
    model = adapted(adaptation).train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    before = grads_after_step(model, head)
    assert before and before == trainable
    if adaptation == "lora":
        assert all(is_lora_parameter(n) for n in before)
    else:
        assert all(n.startswith("side.") for n in before)
    model.set_encoder_frozen(True)
    assert grads_after_step(model, head) == set()
    assert head.weight.grad is not None  # the head still trains
    assert {n for n, p in model.named_parameters() if p.requires_grad} == (
        trainable
    )
    model.set_encoder_frozen(False)
    assert grads_after_step(model, head) == before


def test_mask_embedding_trains_only_with_time_masking():
    """Without time masking the mask embedding takes no part: it must not
    be trainable (DDP would wait for its gradient; see
    tests/integration/test_finetune_ddp.py)."""
    masked = adapted("full")
    unmasked = adapted("full", time_masking=False)
    assert masked.encoder.mask_emb.requires_grad
    assert not unmasked.encoder.mask_emb.requires_grad
    size = unmasked.encoder.mask_emb.numel()
    assert unmasked.trainable_parameters() == (
        masked.trainable_parameters() - size
    )


def test_frozen_adaptation_stays_frozen():
    model = adapted("frozen")
    model.set_encoder_frozen(False)
    assert model.encoder_frozen and model.trainable_parameters() == 0


def test_export_lora_merged_round_trips_through_an_exported_folder(tmp_path):
    model = adapted("lora", attention_type="SummaryMixing").eval()
    randomize_adapters(model.encoder)
    wavs, lens = tiny_batch()
    with torch.no_grad():
        features, _ = model(wavs, lens)
    encoder, note = model.export_state()
    assert "merged" in note
    folder = export_encoder(encoder, tmp_path / "exported")
    rebuilt = build_encoder(folder).eval()
    with torch.no_grad():
        out = rebuilt(wavs, lens, output_hidden_states=False)["context"]
    torch.testing.assert_close(out, features, rtol=1e-5, atol=1e-5)
    kept, note = model.export_state(merge_lora=False)
    assert any(is_lora_parameter(n) for n in kept.state_dict())
    _, note = adapted("read").export_state()
    assert "side network" in note
