"""The S3LSpeech encoder (Lugo & Vielzeuf 2024, after Spiral).

Filterbanks (128 at 10 ms, 20 ms windows) -> strided convolutions to
40 ms -> :class:`~summary_ssl.lobes.encoders.progressive.ProgressiveEncoder`
(first layers at 40 ms, a strided convolution to 80 ms, the other
layers). :class:`S3LEncoder` is the part that is exported and probed; it
has the calling convention of the exported encoders
(:class:`~summary_ssl.lobes.encoders.exportable.ExportableEncoder`, as
:class:`~summary_ssl.lobes.encoders.wav2vec2.Wav2Vec2Encoder`), so the
frozen feature extractor of the MP3S probes loads either. Pretraining runs it on
filterbanks (:meth:`S3LEncoder.features`, :meth:`S3LEncoder.encode`), so
that the student's and the teacher's inputs can be perturbed in between;
:class:`ProjectedEncoder` adds the projection head both of them have.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
from speechbrain.lobes.features import Fbank

from summary_ssl.lobes.encoders.exportable import ExportableEncoder
from summary_ssl.nnet.padding import padding_mask
from summary_ssl.utils.config import records_init


class S3LEncoder(ExportableEncoder):
    """Filterbanks -> convolutions -> progressive encoder.

    Arguments
    ---------
    front : summary_ssl.nnet.conv_stack.ConvStack
        Strided convolutions from ``n_mels`` channels to the encoder size
        ("valid" padding; S3LSpeech: ``[(384, 5, 2), (512, 5, 2),
        (512, 1, 1)]``, 10 ms to 40 ms).
    encoder : summary_ssl.lobes.encoders.progressive.ProgressiveEncoder
        The encoder.
    n_mels : int
        Filterbank channels (S3LSpeech: 128).
    sample_rate : int
        Input sample rate.
    win_length : float
        Analysis window in ms (S3LSpeech: 20).
    hop_length : float
        Frame shift in ms (10).

    Example
    -------
    >>> from summary_ssl.lobes.encoders.progressive import ProgressiveEncoder
    >>> from summary_ssl.lobes.encoders.transformer import TransformerEncoder
    >>> from summary_ssl.nnet.conv_stack import ConvStack
    >>> model = S3LEncoder(
    ...     ConvStack(40, [(32, 5, 2), (32, 5, 2)]),
    ...     ProgressiveEncoder(
    ...         TransformerEncoder(1, 32, 64, 4, conv_pos_kernel=0),
    ...         ConvStack(32, [(32, 5, 2)]),
    ...         TransformerEncoder(1, 32, 64, 4, conv_pos_kernel=0),
    ...     ),
    ...     n_mels=40,
    ... ).eval()
    >>> out = model(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> out["hidden_states"].shape  # (1 + layers, B, T at 40 ms, size)
    torch.Size([3, 2, 23, 32])
    >>> out["frame_lengths"].tolist(), out["context"].shape[1]
    ([23, 10], 10)
    >>> model.num_hidden_states, model.hidden_size
    (3, 32)
    """

    @records_init
    def __init__(
        self,
        front,
        encoder,
        n_mels=128,
        sample_rate=16000,
        win_length=20,
        hop_length=10,
    ):
        super().__init__()
        self.fbank = Fbank(
            n_mels=n_mels,
            sample_rate=sample_rate,
            win_length=win_length,
            hop_length=hop_length,
            n_fft=int(round(sample_rate * win_length / 1000)),
        )
        self.hop = int(round(sample_rate * hop_length / 1000))
        self.front = front
        self.encoder = encoder

    @property
    def hidden_size(self):
        """Size of the hidden states."""
        return self.front.out_dim

    def output_lengths(self, num_samples):
        """Output (80 ms) frames for ``num_samples`` samples in."""
        return self.frames_to_outputs(num_samples // self.hop + 1)

    def frames_to_outputs(self, frames):
        """Output (80 ms) frames for ``frames`` filterbank frames in."""
        return self.encoder.output_lengths(self.front.output_lengths(frames))

    def features(self, wavs, num_samples):
        """Log-mel filterbanks, float32, zero on padded frames.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, N) waveforms.
        num_samples : torch.Tensor
            (B,) lengths in samples.

        Returns
        -------
        feats : torch.Tensor
            (B, T, n_mels)
        frames : torch.Tensor
            (B,) real frames (centred STFT: ``samples // hop + 1``).
        """
        with torch.autocast(wavs.device.type, enabled=False):
            feats = self.fbank(wavs.float())
        frames = num_samples.to(wavs.device) // self.hop + 1
        padding = padding_mask(frames, feats.shape[1])
        return feats.masked_fill(padding.unsqueeze(-1), 0.0), frames

    def encode(self, feats, frames, output_hidden_states=False):
        """Runs the network on filterbanks (see ``ProgressiveEncoder``).

        Arguments
        ---------
        feats : torch.Tensor
            (B, T, n_mels) filterbanks, zero on padding.
        frames : torch.Tensor
            (B,) real frames.
        output_hidden_states : bool
            Also return every hidden state.

        Returns
        -------
        dict
            ``context``, ``padding``, ``lengths`` (80 ms), and with
            ``output_hidden_states`` ``hidden_states`` and
            ``frame_lengths`` (40 ms).
        """
        x, lengths = self.front(feats, frames)
        out = self.encoder(x, lengths, output_hidden_states)
        if output_hidden_states:
            out["frame_lengths"] = lengths
        return out

    def forward(self, wavs, wav_lens, output_hidden_states=True):
        """Encodes waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, N) waveforms.
        wav_lens : torch.Tensor
            (B,) relative lengths in (0, 1] (SpeechBrain convention).
        output_hidden_states : bool
            Return every layer's output.

        Returns
        -------
        dict
            ``context`` (B, T2, D) final output at 80 ms, ``padding``
            (B, T2), ``lengths`` (B,); with ``output_hidden_states``,
            ``hidden_states`` (1 + layers, B, T, D) at 40 ms and their
            ``frame_lengths`` (B,).
        """
        feats, frames = self.features(wavs, self.sample_lengths(wavs, wav_lens))
        return self.encode(feats, frames, output_hidden_states)


class ProjectedEncoder(nn.Module):
    """An encoder and a linear projection head: the network that the
    student and (as an EMA copy) the teacher are.

    Arguments
    ---------
    encoder : S3LEncoder
        The encoder (exported after pretraining).
    proj_dim : int
        Size of the projection (S3LSpeech: 256).

    Example
    -------
    >>> from summary_ssl.lobes.encoders.progressive import ProgressiveEncoder
    >>> from summary_ssl.lobes.encoders.transformer import TransformerEncoder
    >>> from summary_ssl.nnet.conv_stack import ConvStack
    >>> net = ProjectedEncoder(S3LEncoder(
    ...     ConvStack(40, [(32, 5, 2), (32, 5, 2)]),
    ...     ProgressiveEncoder(
    ...         TransformerEncoder(1, 32, 64, 4, conv_pos_kernel=0),
    ...         ConvStack(32, [(32, 5, 2)]),
    ...         TransformerEncoder(1, 32, 64, 4, conv_pos_kernel=0),
    ...     ),
    ...     n_mels=40,
    ... ), proj_dim=8)
    >>> proj, padding, lengths = net(torch.randn(2, 101, 40),
    ...                              torch.tensor([101, 51]))
    >>> proj.shape, lengths.tolist()
    (torch.Size([2, 10, 8]), [10, 3])
    """

    def __init__(self, encoder, proj_dim=256):
        super().__init__()
        self.encoder = encoder
        self.projection = nn.Linear(encoder.hidden_size, proj_dim)

    def forward(self, feats, frames):
        """Projected encoder outputs for filterbanks.

        Arguments
        ---------
        feats : torch.Tensor
            (B, T, n_mels) filterbanks, zero on padding.
        frames : torch.Tensor
            (B,) real frames.

        Returns
        -------
        projected : torch.Tensor
            (B, T2, proj_dim), zero on padded frames.
        padding : torch.Tensor
            (B, T2) True = padding.
        lengths : torch.Tensor
            (B,) real output frames.
        """
        out = self.encoder.encode(feats, frames)
        projected = self.projection(out["context"])
        projected = projected.masked_fill(out["padding"].unsqueeze(-1), 0.0)
        return projected, out["padding"], out["lengths"]
