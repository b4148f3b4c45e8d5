"""The planner's fake-tensor probe: parameters, memory, extrapolation."""

import pytest
import torch

from summary_ssl.budget.memory import AUTOCAST, SavedBytes, gpu_autocast
from summary_ssl.budget.probe import probe_layers, probe_step, span_mask
from summary_ssl.budget.recipe import Recipe
from summary_ssl.nnet.attention import FlashMHA
from tests.integration.pretrain_helpers import TINY_SIZES
from tools.toy import PRETRAIN_RECIPE

YAMLS = ("summarymixing_w2v2", "flash_conformer_w2v2", "mhsa_conformer_w2v2")
HPARAMS = PRETRAIN_RECIPE / "hparams"
TINY = dict(d_model=32, nhead=4, **TINY_SIZES)


@pytest.mark.parametrize("name", YAMLS)
def test_parameter_count_equals_the_built_model(name, tmp_path):
    """Full size: the fake-built count equals the real model's."""
    recipe = Recipe(HPARAMS / f"{name}.yaml")
    real = recipe.load("cpu")
    expected = sum(
        p.numel()
        for key in ("wav2vec2", "objective")
        for p in real[key].parameters()
    )
    assert recipe.parameter_count() == expected


@pytest.mark.parametrize("name", YAMLS)
def test_fake_activation_bytes_equal_a_real_run(name):
    """What the fake forward says autograd saves is what a real forward
    saves, in bf16 autocast (as the recipes train)."""
    recipe = Recipe(HPARAMS / f"{name}.yaml", dict(TINY, num_encoder_layers=2))
    batch, seconds = 2, 1.0
    probe = probe_step(recipe, batch, seconds)

    torch.manual_seed(0)
    model = recipe.load("cpu")["wav2vec2"].train()
    model.encoder.layerdrop_prob = 0.0
    for module in model.modules():  # as the probe runs fused attention
        if isinstance(module, FlashMHA):
            module.dropout = 0.0
    mask = span_mask(batch, probe.frames, recipe)
    params = [p.untyped_storage()._cdata for p in model.parameters()]
    with SavedBytes(params) as saved:
        with gpu_autocast(AUTOCAST[recipe["precision"]]):
            model(
                0.1 * torch.randn(batch, int(seconds * 16000)),
                torch.ones(batch),
                mask=mask,
                output_hidden_states=False,
            )
    fake = probe.activation_bytes - probe.objective_bytes
    assert fake == saved.total()
    assert probe.objective_bytes > 0


@pytest.mark.parametrize("name", YAMLS)
def test_layer_extrapolation_is_exact(name):
    recipe = Recipe(HPARAMS / f"{name}.yaml", dict(TINY, num_encoder_layers=4))
    probe = probe_step(recipe, 3, 1.5)
    assert probe_layers(recipe, 3, 1.5) == probe
    assert probe.params == recipe.parameter_count()


def test_span_mask_covers_about_1_minus_exp_of_mask_prob():
    """Overlapping spans: each frame escapes n ~ p T / l spans of length
    l, so about 1 - exp(-p) of the frames are masked."""
    recipe = {"mask_prob": 0.65, "mask_length": 10, "min_masks": 2}
    mask = span_mask(64, 1000, recipe)
    assert float(mask.float().mean()) == pytest.approx(0.478, abs=0.02)
