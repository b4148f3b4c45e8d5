"""The utterance-level term (UtteranceContrast), on its own."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hyperpyyaml import load_hyperpyyaml
from torch._dynamo.utils import counters

from summary_ssl.lobes.objectives.utterance_contrast import UtteranceContrast


def _banked_term(**extra):
    options = dict(
        proj_dim=16, layer=0, bank_size=5, latent_dim=8, feature_grad_mult=0
    )
    options.update(extra)
    return UtteranceContrast(16, **options)


def _linear(weight, bias):
    proj = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        proj.weight.copy_(weight)
        proj.bias.copy_(bias)
    return proj


def test_utterance_contrast_pairs_halves_and_ignores_padding():
    """The utterance-level term is low when each utterance's halves match
    each other and differ between utterances, high when the halves are
    swapped between utterances; padding frames do not count."""
    torch.manual_seed(10)
    term = UtteranceContrast(16, proj_dim=16)
    with torch.no_grad():
        term.proj.weight.copy_(torch.eye(16))
        term.proj.bias.zero_()
    codes = torch.randn(3, 16)
    lengths = torch.tensor([20, 14, 10])
    padding = torch.arange(20)[None] >= lengths[:, None]
    context = codes[:, None].expand(3, 20, 16).clone()
    context[padding] = 100.0  # padding must not move the means
    same = term(context, padding)
    swapped = context.clone()
    for b, n in enumerate(lengths.tolist()):  # second halves rotated
        swapped[b, n // 2 : n] = codes[(b + 1) % 3]
    assert same < 0.05 < term(swapped, padding) - 1.0


def test_utterance_contrast_has_its_own_temperature():
    """The term's similarities are divided by its own temperature (the
    direct form written out), not the frame-level one."""
    torch.manual_seed(3)
    hidden = torch.randn(4, 10, 16)
    for temperature in (0.1, 0.5):
        term = UtteranceContrast(16, proj_dim=8, temperature=temperature)
        a = F.normalize(term.proj(hidden[:, :5].mean(1)), dim=-1)
        b = F.normalize(term.proj(hidden[:, 5:].mean(1)), dim=-1)
        sim = a @ b.t() / temperature
        target = torch.arange(4)
        expected = 0.5 * (
            F.cross_entropy(sim, target) + F.cross_entropy(sim.t(), target)
        )
        torch.testing.assert_close(term(hidden), expected)


def _banked_reference(term, context, latents, bank, filled, weight, bias, n):
    """The banked term written out: first-half mean contexts against the
    keys of the batch's second-half mean latents and of the filled bank
    rows, both through the current (weight, bias) and head."""

    def head(x):
        return F.normalize(term.proj(x), dim=-1)

    a = head(context[:, : n // 2].mean(1))
    held = latents[:, n // 2 : n].mean(1)
    keys = head(F.linear(torch.cat([held, bank[filled]]), weight, bias))
    sim = a @ keys.t() / term.temperature
    target = torch.arange(len(a))
    return 0.5 * (
        F.cross_entropy(sim, target)
        + F.cross_entropy(sim[:, : len(a)].t(), target)
    )


def test_utterance_bank_keys_are_reprojected_front_end_latents():
    """The banked term equals its direct form (keys = the current
    projection of mean second-half latents, the batch's and the bank's);
    training forwards write the batch's mean second-half latents over the
    oldest slots (wrapping around) and evaluation ones leave the bank
    alone; the bank's keys follow the projection as it changes (never
    stale); the bank is in the state dict; bad sizes are clear errors."""
    torch.manual_seed(12)
    term = _banked_term()
    context, latents = torch.randn(3, 12, 16), torch.randn(3, 12, 8)
    weight, bias = torch.randn(16, 8), torch.randn(16)

    def loss(w=weight):
        return term(context, None, latents, _linear(w, bias))

    def reference(w=weight):
        bank, filled = term.bank, term.bank_filled
        return _banked_reference(
            term, context, latents, bank, filled, w, bias, 12
        )

    term.eval()
    torch.testing.assert_close(loss(), reference())  # empty bank: batch only
    assert not term.bank_filled.any()  # eval: not written
    term.train()
    expected = reference()
    torch.testing.assert_close(loss(), expected)
    held = latents[:, 6:].mean(1)
    assert term.bank_filled.tolist() == [True] * 3 + [False] * 2
    torch.testing.assert_close(term.bank[:3], held)
    with_bank = reference()  # 3 banked copies of the keys: hard negatives
    assert with_bank > expected + 0.2
    moved = 2.0 * weight  # the projection moved: the bank's keys follow
    expected = reference(moved)  # read before the forward writes
    torch.testing.assert_close(loss(moved), expected)
    assert term.bank_filled.all()
    assert int(term.bank_next) == 1  # 6 written, wrapped
    torch.testing.assert_close(term.bank[0], held[2])
    assert set(term.state_dict()) == {
        "proj.weight",
        "proj.bias",
        "bank",
        "bank_filled",
        "bank_next",
    }
    with pytest.raises(ValueError, match="latents and key_proj"):
        term(context)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="bank_size"):
            _banked_term(bank_size=bad)
    with pytest.raises(ValueError, match="weight > 0"):
        _banked_term(weight=0.0)


def test_a_bank_needs_layer_0_and_a_frozen_front_end():
    """The rules are enforced where the term is built: a bank on another
    hidden state, or with a front end that trains, or without the
    latents' size, is a clear error; so are a layer beyond the encoder,
    a non-positive temperature and a negative weight."""
    for layer in (None, 1):
        with pytest.raises(ValueError, match="needs layer 0"):
            _banked_term(layer=layer)
    for mult in (1.0, 0.1):
        with pytest.raises(ValueError, match="frozen front end"):
            _banked_term(feature_grad_mult=mult)
    with pytest.raises(ValueError, match="latent_dim"):
        _banked_term(latent_dim=None)
    with pytest.raises(ValueError, match=r"hidden-state index 0\.\.2"):
        UtteranceContrast(16, layer=3, num_layers=2)
    for bad in (-1, 1.0, True):
        with pytest.raises(ValueError, match="layer must be"):
            UtteranceContrast(16, layer=bad)
    with pytest.raises(ValueError, match="temperature"):
        UtteranceContrast(16, temperature=0)
    with pytest.raises(ValueError, match="weight"):
        UtteranceContrast(16, weight=-1.0)
    UtteranceContrast(16, layer=2, num_layers=2)  # the top layer's output


def test_weight_0_builds_nothing():
    """At weight 0 the term is off: no parameters, no state, and no draw
    from the RNG (the models built after it are those of a YAML without
    it)."""
    torch.manual_seed(0)
    term = UtteranceContrast(16, weight=0.0, layer=1)
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), after)
    assert not list(term.parameters()) and not term.state_dict()


def test_banked_term_compiles_as_one_graph():
    """The banked term, bank write included, is one graph
    (``fullgraph=True`` raises on a break) and gives the eager losses
    and bank."""
    torch.manual_seed(0)
    eager = _banked_term(bank_size=4)
    compiled = _banked_term(bank_size=4)
    compiled.load_state_dict(eager.state_dict())
    proj = nn.Linear(8, 16)
    torch._dynamo.reset()
    counters.clear()
    compiled.compile(backend="eager", fullgraph=True, dynamic=False)
    padding = torch.arange(12)[None] >= torch.tensor([[12], [9], [7]])
    for _ in range(3):
        context, latents = torch.randn(3, 12, 16), torch.randn(3, 12, 8)
        torch.testing.assert_close(
            compiled(context, padding, latents, proj),
            eager(context, padding, latents, proj),
        )
    assert not counters["graph_break"], dict(counters["graph_break"])
    torch.testing.assert_close(compiled.bank, eager.bank)
    assert compiled.bank_filled.all() and int(compiled.bank_next) == 1


def test_yaml_class_paths_are_public_api():
    """The class paths recipe YAMLs name keep working."""
    hparams = load_hyperpyyaml(
        """
objective: !new:summary_ssl.lobes.objectives.wav2vec2.W2V2Objective
    latent_dim: 8
    d_model: 16
    proj_dim: 8
    num_vars: 5
utterance_contrast: !new:summary_ssl.lobes.utterance_contrast.UtteranceContrast
    d_model: 16
    proj_dim: 8
    layer: 0
    bank_size: 4
    latent_dim: 8
    feature_grad_mult: 0
"""
    )
    assert type(hparams["objective"]).__name__ == "W2V2Objective"
    assert hparams["utterance_contrast"].bank.shape == (4, 8)
