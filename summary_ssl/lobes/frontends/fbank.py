"""SpeechBrain's log-mel filterbanks, with their constants on the device.

SpeechBrain's ``Fbank`` keeps its STFT window and its filterbank
parameters as plain CPU tensors: every call copies the window to the
waveform's device, rebuilds the (n_stft, n_mels) filter matrix on the CPU
and copies it over. On a GPU each of those copies from pageable memory
makes the host wait for the device, twice per step. Its ``forward`` also
carries a precision decorator that builds a wrapper at run time, which
``torch.compile`` cannot trace. :class:`DeviceFbank` keeps SpeechBrain's
modules and computation (STFT, magnitude, filters, dB conversion) but
holds the window and the filter matrix as buffers, built once, which move
with the module.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
from speechbrain.lobes.features import Fbank
from speechbrain.processing.features import spectral_magnitude


class DeviceFbank(Fbank):
    """Log-mel filterbanks equal to ``speechbrain.lobes.features.Fbank``'s
    (no deltas, no context), with device-resident constants. A subclass,
    so its checkpoint keys are Fbank's.

    Arguments
    ---------
    **fbank_kwargs
        SpeechBrain ``Fbank`` arguments (``n_mels``, ``sample_rate``,
        ``hop_length``, ...). Learnable filters (``requires_grad``), deltas
        and context are not supported.

    Example
    -------
    >>> fbank = DeviceFbank(n_mels=40, sample_rate=16000, hop_length=10)
    >>> wavs = torch.randn(2, 16000)
    >>> ref = Fbank(n_mels=40, sample_rate=16000, hop_length=10)(wavs)
    >>> torch.allclose(fbank(wavs), ref, atol=1e-4)
    True
    """

    def __init__(self, **fbank_kwargs):
        for key in ("deltas", "context", "requires_grad"):
            if fbank_kwargs.get(key):
                raise ValueError(f"DeviceFbank does not support {key}=True")
        super().__init__(**fbank_kwargs)
        stft = self.compute_STFT
        window = stft.__dict__.pop("window")
        stft.register_buffer("window", window, persistent=False)
        self.register_buffer(
            "mel_matrix", _filter_matrix(self.compute_fbanks), persistent=False
        )

    def forward(self, wav):
        """(B, N) waveforms -> (B, T, n_mels) log-mel filterbanks (float32
        in, as Fbank's precision decorator casts them)."""
        mag = spectral_magnitude(self.compute_STFT(wav))
        mel = torch.matmul(mag, self.mel_matrix)
        # SpeechBrain's own dB conversion (and top_db clipping)
        return self.compute_fbanks._amplitude_to_DB(mel)


def _filter_matrix(filters):
    """The (n_stft, n_mels) matrix a SpeechBrain ``Filterbank`` builds at
    every call: its output for the identity spectrogram, before the dB
    conversion. Built on the meta device (shape only) when the module
    was."""
    n_stft, n_mels = filters.n_stft, filters.n_mels
    if filters.f_central.is_meta:  # e.g. the budget planner's dry build
        return torch.empty(n_stft, n_mels, device="meta")
    training, log_mel = filters.training, filters.log_mel
    filters.eval()
    filters.log_mel = False
    with torch.no_grad():
        eye = torch.eye(n_stft, device=filters.f_central.device)
        matrix = filters(eye.unsqueeze(0))[0]
    filters.log_mel = log_mel
    filters.train(training)
    return matrix
