"""summary_ssl.probes.asr: the CTC loss of the CTC Brains (the ASR probe
and CTC fine-tuning) and its reductions."""

from types import SimpleNamespace

import pytest
import speechbrain as sb
import torch

from summary_ssl.probes.asr import CTC_REDUCTIONS, CTCTranscripts


class Transcripts(CTCTranscripts):
    def __init__(self, reduction):
        self.hparams = SimpleNamespace(blank_index=0, test_decoder="greedy")
        self.ctc_reduction = reduction


def batch_and_predictions():
    torch.manual_seed(0)
    log_probs = torch.randn(3, 20, 6).log_softmax(-1)
    lens = torch.tensor([1.0, 0.8, 0.5])  # 20, 16, 10 frames
    tokens = torch.tensor([[1, 2, 3, 4], [2, 2, 5, 0], [3, 1, 0, 0]])
    token_lens = torch.tensor([1.0, 0.75, 0.5])  # 4, 3, 2 tokens
    batch = SimpleNamespace(tokens=(tokens, token_lens))
    per_utterance = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1),
        tokens,
        torch.tensor([20, 16, 10]),
        torch.tensor([4, 3, 2]),
        blank=0,
        reduction="none",
        zero_infinity=True,
    )
    return (log_probs, lens), batch, per_utterance


def test_batchmean_is_fairseq_sentence_avg_and_mean_divides_by_tokens():
    predictions, batch, per_utterance = batch_and_predictions()
    train = sb.Stage.TRAIN
    sentence_avg = Transcripts("batchmean").compute_objectives(
        predictions, batch, train
    )
    assert torch.allclose(sentence_avg, per_utterance.mean())
    token_mean = Transcripts("mean").compute_objectives(
        predictions, batch, train
    )
    expected = (per_utterance / torch.tensor([4.0, 3.0, 2.0])).mean()
    assert torch.allclose(token_mean, expected)


def test_an_unknown_reduction_fails_at_the_stage_start():
    assert CTCTranscripts.ctc_reduction in CTC_REDUCTIONS  # the probe's
    with pytest.raises(ValueError, match="ctc_reduction must be one of"):
        Transcripts("none").on_stage_start(sb.Stage.TRAIN)
