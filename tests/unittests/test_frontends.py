"""The CNN front ends and the device filterbank (lobes.frontends)."""

import pytest
import torch

from summary_ssl.lobes.frontends import FbankCNNFrontEnd, RawCNNFrontEnd


def test_fbank_frontend_frame_lengths_match_single_runs():
    fe = FbankCNNFrontEnd(n_mels=40, channels=[4, 4]).eval()
    wavs = torch.randn(3, 24000)
    lengths = torch.tensor([24000, 17000, 5000])
    latents, frames = fe(wavs, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, alone_frames = fe(wavs[b : b + 1, :n], torch.tensor([n]))
        assert alone_frames.item() == frames[b].item() == alone.shape[1]
        assert not latents[b, frames[b] :].any()
    assert fe.output_lengths(24000) == latents.shape[1]


def test_raw_frontend_lengths():
    fe = RawCNNFrontEnd(out_channels=[8] * 7)
    latents, frames = fe(torch.randn(2, 16000), torch.tensor([16000, 9000]))
    assert frames[0] == latents.shape[1]
    assert frames[1] == fe.output_lengths(torch.tensor(9000))


def test_device_fbank_is_speechbrains_with_buffers():
    """Same features as SpeechBrain's Fbank, same checkpoint keys, and
    its window and filter matrix are buffers (they move with .to(), so a
    GPU step copies nothing from the host)."""
    from speechbrain.lobes.features import Fbank

    from summary_ssl.lobes.frontends.fbank import DeviceFbank

    ours = DeviceFbank(n_mels=80, sample_rate=16000, hop_length=10)
    ref = Fbank(n_mels=80, sample_rate=16000, hop_length=10)
    wavs = 0.1 * torch.randn(2, 20000)
    torch.testing.assert_close(ours(wavs), ref(wavs))
    assert ours.state_dict().keys() == ref.state_dict().keys()
    buffers = dict(ours.named_buffers())
    assert {"compute_STFT.window", "mel_matrix"} <= set(buffers)
    moved = ours.to(torch.float64)
    assert moved.mel_matrix.dtype == torch.float64


class _Fixed(torch.nn.Module):
    """Stands in for the filterbank: returns fixed features."""

    def __init__(self, feats):
        super().__init__()
        self.feats = feats

    def forward(self, wavs):
        return self.feats


def test_fbank_frontend_normalisation_scope():
    # A per-channel offset of the log filterbanks (a fixed spectral tilt,
    # as a speaker or a microphone gives) vanishes under the paper's
    # per-channel normalisation and stays under the per-utterance one.
    torch.manual_seed(0)
    feats = torch.randn(1, 60, 40)
    tilt = torch.linspace(-2.0, 2.0, 40)
    wavs, lengths = torch.zeros(1, 160 * 59), torch.tensor([160 * 59])
    for scope, same in (("channel", True), ("utterance", False)):
        fe = FbankCNNFrontEnd(n_mels=40, channels=[8, 4], normalisation=scope)
        outs = []
        for x in (feats, feats + tilt):
            fe.fbank = _Fixed(x)
            outs.append(fe(wavs, lengths)[0])
        assert torch.allclose(outs[0], outs[1], atol=1e-5) == same, scope
    with pytest.raises(ValueError, match="normalisation"):
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4], normalisation="global")
