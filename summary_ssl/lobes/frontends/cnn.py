"""Front ends that turn 16 kHz waveforms into 50 Hz latent frames.

Both take absolute lengths in samples and return exact lengths in frames
(computed from the layers' arithmetic, not by rounding a relative length),
so masking and negatives never touch padded frames.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from speechbrain.lobes.models.wav2vec import W2VLatentExtractor

from summary_ssl.lobes.frontends.fbank import DeviceFbank
from summary_ssl.nnet.conv_stack import conv_norm_layers
from summary_ssl.nnet.padding import masked_normalize, padding_mask
from summary_ssl.utils.config import records_init

# Dimensions of (B, T, n_mels) filterbanks that the statistics pool over.
NORMALISATIONS = {"channel": (1,), "utterance": (1, 2)}


class FbankCNNFrontEnd(nn.Module):
    """The SummaryMixing SSL paper's ``mel_cnn_base`` front end, to 50 Hz.

    Zhang et al. 2024 (arXiv 2407.13377), as released (SamsungLabs
    SummaryMixing, branch ``IS24_PR``)::

        waveform, normalised over its real samples
        -> 80 log-mel filterbanks (25 ms windows, 10 ms hop)
        -> per-channel mean/variance normalisation over the utterance's
           real frames (SpeechBrain's ``InputNormalization("sentence")``)
        -> [Conv1d over time (no bias, "valid") -> LayerNorm -> GELU] x 2,
           512 and 512 channels, kernel 3, strides 2 and 1
        -> LayerNorm

    which gives 512-d latents at 50 Hz (SpeechBrain's ``W2VLatentExtractor``
    with ``input_dim=80`` is the same stack). Differences that only touch
    padding: each utterance is normalised over its own real samples and
    frames (SpeechBrain's ``InputNormalization`` loops over the batch in
    Python, and its padded frames come out non-zero), and padded frames
    are zero at every stage. Lengths in frames are exact (from the layers'
    arithmetic), so masking never touches padding. The STFT runs in
    float32 even under autocast.

    Arguments
    ---------
    n_mels : int
        Filterbank channels.
    sample_rate : int
        Input sample rate.
    channels : list of int
        Output channels of the convolutions.
    kernel_sizes : list of int
        Kernel sizes of the convolutions.
    strides : list of int
        Strides of the convolutions (over time).
    normalisation : str
        ``channel`` (the paper's: one mean and variance per filterbank
        channel over the utterance) or ``utterance`` (one mean and
        variance per utterance over all channels). Per-channel statistics
        remove the utterance's long-term average spectrum, the main cue of
        a speaker (and channel) in mean-pooled features; ``utterance``
        keeps the spectral shape and removes only the level.

    Example
    -------
    >>> fe = FbankCNNFrontEnd(n_mels=40, channels=[8, 4])
    >>> wavs = torch.randn(2, 16000)
    >>> latents, frames = fe(wavs, torch.tensor([16000, 8000]))
    >>> latents.shape, frames.tolist(), fe.out_dim
    (torch.Size([2, 48, 4]), [48, 23], 4)
    >>> float(latents[1, 23:].detach().abs().sum())  # padding
    0.0
    """

    @records_init
    def __init__(
        self,
        n_mels=80,
        sample_rate=16000,
        channels=(512, 512),
        kernel_sizes=(3, 3),
        strides=(2, 1),
        normalisation="channel",
    ):
        super().__init__()
        if normalisation not in NORMALISATIONS:
            raise ValueError(
                f"normalisation must be one of {NORMALISATIONS}, "
                f"not {normalisation!r}"
            )
        self.norm_dims = NORMALISATIONS[normalisation]
        if not len(channels) == len(kernel_sizes) == len(strides):
            raise ValueError(
                "channels, kernel_sizes and strides need one entry per conv"
            )
        self.hop = sample_rate // 100
        self.fbank = DeviceFbank(
            n_mels=n_mels, sample_rate=sample_rate, hop_length=10
        )
        self.kernel_sizes = list(kernel_sizes)
        self.strides = list(strides)
        self.convs, self.norms, self.out_dim = conv_norm_layers(
            n_mels, zip(channels, kernel_sizes, strides)
        )
        self.final_norm = nn.LayerNorm(self.out_dim)

    def output_lengths(self, num_samples):
        """Frames out for ``num_samples`` samples in (tensor or int).

        Arguments
        ---------
        num_samples : torch.Tensor or int

        Returns
        -------
        torch.Tensor or int
        """
        frames = num_samples // self.hop + 1  # centred STFT frames
        for kernel, stride in zip(self.kernel_sizes, self.strides):
            frames = (frames - kernel) // stride + 1  # "valid" convolution
        return frames

    def forward(self, wavs, lengths):
        """Computes latent frames.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, N) waveforms, zero-padded.
        lengths : torch.Tensor
            (B,) lengths in samples.

        Returns
        -------
        latents : torch.Tensor
            (B, T, out_dim), zero on padded frames.
        frame_lengths : torch.Tensor
            (B,) lengths in frames.
        """
        with torch.autocast(wavs.device.type, enabled=False):
            wavs = masked_normalize(wavs.float(), lengths, dim=(1,))
            feats = self.fbank(wavs)  # (B, T, n_mels)
        frames = lengths // self.hop + 1
        x = masked_normalize(feats, frames, dim=self.norm_dims)
        x = x.transpose(1, 2)  # (B, C, T)
        for conv, norm, kernel, stride in zip(
            self.convs, self.norms, self.kernel_sizes, self.strides
        ):
            x = conv(x)
            frames = (frames - kernel) // stride + 1
            x = F.gelu(norm(x.transpose(1, 2))).transpose(1, 2)
        x = self.final_norm(x.transpose(1, 2))  # (B, T, C)
        x = x.masked_fill(padding_mask(frames, x.shape[1]).unsqueeze(-1), 0.0)
        return x, frames


class RawCNNFrontEnd(nn.Module):
    """wav2vec 2.0's waveform CNN (SpeechBrain's ``W2VLatentExtractor``).

    SpeechBrain normalises the waveform with ``F.layer_norm`` over the
    whole padded tensor, so padding changes every utterance's statistics;
    here each waveform is normalised over its real samples first, and
    SpeechBrain's extractor runs with ``normalize_signal=False``.

    Arguments
    ---------
    out_channels : list of int
        Channels of the 7 convolutions.
    kernel_sizes : list of int
        Kernel sizes.
    strides : list of int
        Strides (product 320: 50 Hz at 16 kHz).

    Example
    -------
    >>> fe = RawCNNFrontEnd(out_channels=[16] * 7)
    >>> latents, frames = fe(torch.randn(2, 16000), torch.tensor([16000, 8000]))
    >>> latents.shape, frames.tolist()
    (torch.Size([2, 49, 16]), [49, 24])
    """

    @records_init
    def __init__(
        self,
        out_channels=(512,) * 7,
        kernel_sizes=(10, 3, 3, 3, 3, 2, 2),
        strides=(5, 2, 2, 2, 2, 2, 2),
    ):
        super().__init__()
        self.extractor = W2VLatentExtractor(
            out_channels=list(out_channels),
            kernel_sizes=list(kernel_sizes),
            strides=list(strides),
        )
        self.out_dim = out_channels[-1]

    def output_lengths(self, num_samples):
        """Frames out for ``num_samples`` samples in.

        Arguments
        ---------
        num_samples : torch.Tensor

        Returns
        -------
        torch.Tensor
        """
        return self.extractor.get_output_lengths(torch.as_tensor(num_samples))

    def forward(self, wavs, lengths):
        """Computes latent frames; same contract as FbankCNNFrontEnd."""
        wavs = masked_normalize(wavs, lengths, dim=(1,))
        latents = self.extractor(wavs, normalize_signal=False)
        frames = self.output_lengths(lengths).to(wavs.device)
        frames = frames.clamp(max=latents.shape[1])
        return latents, frames
