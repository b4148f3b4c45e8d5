"""The utterance-level term can read a lower layer of the encoder."""

import pytest
import speechbrain as sb
import torch

from summary_ssl.brains.hparams_checks import check_pretraining_hparams
from tests.integration.pretrain_helpers import toy_batch, toy_brain


def test_utterance_contrast_reads_the_chosen_layer():
    """``utterance_contrast_layer`` feeds that hidden state to the
    utterance-level term (the contrastive term still reads the top one),
    only when the term is on; an index beyond the encoder is a clear
    error."""
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
    off = toy_brain(utterance_contrast_weight=0.0, utterance_contrast_layer=1)
    with torch.no_grad():
        out, _ = off.compute_forward(batch, sb.Stage.TRAIN)
    assert "utterance_context" not in out  # the term is off: no states kept
    with pytest.raises(ValueError, match="utterance_contrast_layer"):
        check_pretraining_hparams(
            dict(num_encoder_layers=2, utterance_contrast_layer=3)
        )


def test_utterance_bank_holds_the_batch_front_end_latents():
    """With the term on layer 0 and a bank, a training step writes each
    utterance's mean second-half front-end latents (what the encoder's
    input projection maps to layer 0) into the bank; a bank on another
    layer is a clear YAML error."""
    torch.manual_seed(0)
    brain = toy_brain(
        utterance_contrast_weight=1.0,
        utterance_contrast_layer=0,
        utterance_bank_size=8,
    )
    batch = toy_batch(0)
    with torch.no_grad():
        out, mask = brain.compute_forward(batch, sb.Stage.TRAIN)
        brain.compute_objectives((out, mask), batch, sb.Stage.TRAIN)
    objective = brain.modules.objective
    n = len(batch.id)
    assert objective.utterance_bank_filled.tolist() == [True] * n + [False] * (
        8 - n
    )
    real = (~out["padding"]).sum(1)
    for b in range(n):
        start = (real[b] + 1) // 2  # the later half of an odd count
        half = out["latents"][b, start : real[b]].float().mean(0)
        torch.testing.assert_close(objective.utterance_bank[b], half)
    with pytest.raises(ValueError, match="utterance_bank_size"):
        check_pretraining_hparams(
            dict(utterance_contrast_layer=1, utterance_bank_size=4)
        )
    check_pretraining_hparams(
        dict(utterance_contrast_layer=0, utterance_bank_size=4)
    )
