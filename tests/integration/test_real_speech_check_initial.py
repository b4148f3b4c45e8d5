"""The real-speech check's ``random-init`` row is the encoder that its
pretraining starts from (``tools/real_speech_check.py``)."""

import torch

from summary_ssl.pretrained import build_encoder
from tests.conftest import load_tool
from tests.integration.pretrain_helpers import run_pretraining
from tools.toy import PRETRAIN_TOY_OVERRIDES, to_argv


def test_initial_export_equals_the_weights_pretraining_starts_from(tmp_path):
    """One step at a negligible learning rate leaves train.py's initial
    weights as they were: the check's export of them must match, and a
    different seed must not (so the match is the seed's, not chance)."""
    check = load_tool("real_speech_check")
    extra = dict(lr=1e-12, optimizer_step_limit=1, warmup_steps=1)
    run_pretraining(tmp_path / "run", **extra)
    trained = build_encoder(tmp_path / "run" / "exported_encoder")
    argv = to_argv("unused", dict(PRETRAIN_TOY_OVERRIDES, **extra))[1:]
    overrides = dict(arg[2:].split("=", 1) for arg in argv)
    overrides["device"] = "cpu"  # a run option: not passed to the YAML
    initial = build_encoder(check.export_initial(tmp_path, overrides))
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(
            initial.state_dict()[name], value, atol=1e-9, rtol=0
        )
    overrides["seed"] = "7"
    other = build_encoder(check.export_initial(tmp_path / "seed7", overrides))
    weight = "encoder.layers.0.mha_layer.input_proj.weight"
    assert not torch.equal(
        other.state_dict()[weight], trained.state_dict()[weight]
    )
