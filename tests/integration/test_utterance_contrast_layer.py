"""The utterance-level term in the recipe: its YAML keys, the hidden
state it reads, its bank and its place in the Brain's loss."""

import pytest
import speechbrain as sb
import torch

from summary_ssl.lobes.augment.span_masking import span_bounds
from summary_ssl.lobes.objectives.utterance_contrast import UtteranceContrast
from tests.integration.pretrain_helpers import toy_batch, toy_brain


def test_utterance_contrast_reads_the_chosen_layer():
    """``utterance_contrast_layer`` feeds that hidden state to the
    utterance-level term (the contrastive term still reads the top one),
    only when the term is on; an index beyond the encoder is a clear
    error when the YAML is loaded."""
    torch.manual_seed(0)
    brain = toy_brain(utterance_contrast_weight=1.0, utterance_contrast_layer=1)
    batch = toy_batch(0)
    torch.manual_seed(1)
    with torch.no_grad():
        out, mask = brain.compute_forward(batch, sb.Stage.TRAIN)
    torch.manual_seed(1)
    with torch.no_grad():
        full = brain.modules.wav2vec2(
            batch.sig[0], batch.sig[1], mask=mask, output_hidden_states=True
        )
    torch.testing.assert_close(
        out["utterance_context"], full["hidden_states"][1]
    )
    torch.testing.assert_close(out["context"], full["context"])
    assert not torch.allclose(out["utterance_context"], out["context"])
    assert "hidden_states" not in out  # only the state asked for
    off = toy_brain(utterance_contrast_weight=0.0, utterance_contrast_layer=1)
    with torch.no_grad():
        out, _ = off.compute_forward(batch, sb.Stage.TRAIN)
    assert "utterance_context" not in out  # the term is off: no states kept
    assert not list(off.modules.utterance_contrast.parameters())
    with pytest.raises(ValueError, match="hidden-state index 0..2"):
        toy_brain(utterance_contrast_weight=1.0, utterance_contrast_layer=3)


def test_brain_adds_the_weighted_term_to_the_objective():
    """The Brain's loss is the objective's plus ``weight`` times the
    term's (``utterance_loss`` in the statistics), with the term's own
    temperature."""
    torch.manual_seed(0)
    brain = toy_brain(
        utterance_contrast_weight=0.5,
        utterance_contrast_layer=1,
        utterance_contrast_temperature=0.3,
    )
    term = brain.modules.utterance_contrast
    assert isinstance(term, UtteranceContrast)
    assert (term.weight, term.layer, term.temperature) == (0.5, 1, 0.3)
    batch = toy_batch(0)
    brain.valid_stats = []
    with torch.no_grad():
        out, mask = brain.compute_forward(batch, sb.Stage.VALID)
        torch.manual_seed(2)  # the objective's negatives and Gumbel noise
        loss = brain.compute_objectives((out, mask), batch, sb.Stage.VALID)
        torch.manual_seed(2)
        own = brain.modules.objective(
            out["context"],
            out["latents"],
            mask,
            out["features_pen"],
            num_slots=span_bounds(mask.shape[1], **brain._mask_options())[1],
        )["loss"]
        utt = term(out["utterance_context"], out["padding"])
    torch.testing.assert_close(loss, own + 0.5 * utt)
    assert brain.valid_stats[-1]["utterance_loss"] == pytest.approx(float(utt))


def test_utterance_bank_holds_the_batch_front_end_latents():
    """With the term on layer 0 and a bank, a training step writes each
    utterance's mean second-half front-end latents (what the encoder's
    input projection maps to layer 0) into the bank; a bank on another
    layer, or with a front end that trains, is a clear error when the
    YAML is loaded."""
    torch.manual_seed(0)
    brain = toy_brain(
        utterance_contrast_weight=1.0,
        utterance_contrast_layer=0,
        utterance_bank_size=8,
        feature_grad_mult=0,
    )
    batch = toy_batch(0)
    with torch.no_grad():
        out, mask = brain.compute_forward(batch, sb.Stage.TRAIN)
        brain.compute_objectives((out, mask), batch, sb.Stage.TRAIN)
    term = brain.modules.utterance_contrast
    n = len(batch.id)
    assert term.bank_filled.tolist() == [True] * n + [False] * (8 - n)
    real = (~out["padding"]).sum(1)
    for b in range(n):
        start = (real[b] + 1) // 2  # the later half of an odd count
        half = out["latents"][b, start : real[b]].float().mean(0)
        torch.testing.assert_close(term.bank[b], half)
    assert not any(
        k.startswith("utterance") for k in brain.modules.objective.state_dict()
    )
    with pytest.raises(ValueError, match="needs layer 0"):
        toy_brain(
            utterance_contrast_weight=1.0,
            utterance_contrast_layer=1,
            utterance_bank_size=4,
            feature_grad_mult=0,
        )
    with pytest.raises(ValueError, match="frozen front end"):
        toy_brain(
            utterance_contrast_weight=1.0,
            utterance_contrast_layer=0,
            utterance_bank_size=4,
        )


def test_brain_reads_only_declared_keys():
    """Every key W2V2Brain reads is declared in the recipe YAMLs (no
    hidden defaults)."""
    for yaml in (
        "summarymixing_w2v2.yaml",
        "flash_conformer_w2v2.yaml",
        "mhsa_conformer_w2v2.yaml",
    ):
        hparams = vars(toy_brain(yaml=yaml).hparams)
        for key in (
            "mask_prob",
            "mask_length",
            "min_masks",
            "compile_backend",
            "utterance_contrast_weight",
            "utterance_contrast_layer",
            "utterance_contrast_temperature",
            "utterance_bank_size",
            "utterance_contrast",
        ):
            assert key in hparams, (yaml, key)
