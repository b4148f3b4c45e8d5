"""The frozen part of a probe's input: SSL hidden states or filterbanks.

A probe's input comes in two stages so that the frozen stage can be cached
(:mod:`summary_ssl.probes.cache`):

1. :class:`FrozenFeatures` (frozen, no gradient) maps waveforms to a stack
   of layers ``(L, B, T, D)`` and their relative lengths (the interface
   of :class:`summary_ssl.pretrained.FrozenLayers`);
2. :class:`summary_ssl.pretrained.WeightedLayerSum` (learned) mixes the
   ``L`` layers into the ``(B, T, D)`` probe input.

``features`` picks the first stage:

* ``ssl``: every hidden state of a frozen exported encoder
  (:class:`summary_ssl.pretrained.FrozenSSLEncoder`); with
  ``random_init=True``, the same architecture with random weights (the
  random-init baseline);
* ``fbank``: 80 log-mel filterbanks normalised per utterance, one "layer"
  (the filterbank baseline; its layer sum is the identity).

Authors
-------
* summary_ssl contributors 2026
"""

import hashlib
import pathlib

import torch
from speechbrain.lobes.features import Fbank

from summary_ssl.nnet.padding import masked_normalize
from summary_ssl.pretrained import FrozenLayers, FrozenSSLEncoder

FEATURE_KINDS = ("ssl", "fbank")


class FbankFeatures(FrozenLayers):
    """Log-mel filterbanks, mean/variance normalised over each utterance's
    real frames and channels together; padded frames are zero.

    One mean and one variance per utterance (as the SummaryMixing SSL
    front end does) remove the level but keep the spectral shape. Per
    channel statistics would make every utterance's mean over time zero,
    which leaves nothing to a mean-pooling probe.

    Arguments
    ---------
    n_mels : int
        Filterbank channels.
    sample_rate : int
        Input sample rate.
    hop_length : float
        Frame shift in milliseconds.

    Example
    -------
    >>> fbank = FbankFeatures(n_mels=80)
    >>> feats, lens = fbank(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> feats.shape, lens.tolist()  # (1, B, T, n_mels): one "layer"
    (torch.Size([1, 2, 101, 80]), [1.0, 0.504950...])
    >>> feats[0, 1, 51:].abs().max().item()  # padding
    0.0
    """

    def __init__(self, n_mels=80, sample_rate=16000, hop_length=10):
        super().__init__()
        self.fbank = Fbank(
            n_mels=n_mels, sample_rate=sample_rate, hop_length=hop_length
        )
        self.hop = int(round(sample_rate * hop_length / 1000))
        self.num_layers = 1
        self.out_dim = n_mels

    def layers(self, wavs, wav_lens):
        """Normalised filterbanks, (1, B, T, n_mels), and their relative
        lengths in frames (see :meth:`FrozenLayers.forward`)."""
        feats = self.fbank(wavs.float())
        T = feats.shape[1]
        samples = torch.round(wav_lens * wavs.shape[1]).long()
        frames = (samples // self.hop + 1).clamp(max=T)  # centred STFT
        feats = masked_normalize(feats, frames, dim=(1, 2))
        return feats.unsqueeze(0), frames.float() / T


class FrozenFeatures(FrozenLayers):
    """Frozen probe features: ``(L, B, T, D)`` layers and their lengths.

    Arguments
    ---------
    features : str
        ``ssl`` (hidden states of the exported encoder in ``ssl_folder``)
        or ``fbank`` (normalised filterbanks).
    ssl_folder : str or pathlib.Path, optional
        Exported encoder folder; needed for ``ssl``.
    random_init : bool
        With ``ssl``: same architecture, random (frozen) weights.
    n_mels : int
        Filterbank channels for ``fbank``.
    sample_rate : int
        Input sample rate for ``fbank``.

    Example
    -------
    >>> fbank = FrozenFeatures("fbank", n_mels=40)
    >>> fbank.num_layers, fbank.out_dim
    (1, 40)
    >>> hidden, lens = fbank(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    >>> hidden.shape
    torch.Size([1, 2, 51, 40])
    >>> fbank.frame_rate  # 10 ms hop, centred frames
    100.1
    >>> FrozenFeatures("mfcc")
    Traceback (most recent call last):
    ...
    ValueError: features must be one of ('ssl', 'fbank'), not 'mfcc'
    """

    def __init__(
        self,
        features="ssl",
        ssl_folder=None,
        random_init=False,
        n_mels=80,
        sample_rate=16000,
    ):
        super().__init__()
        if features not in FEATURE_KINDS:
            raise ValueError(
                f"features must be one of {FEATURE_KINDS}, not {features!r}"
            )
        if features == "ssl":
            if ssl_folder is None:
                raise ValueError("features='ssl' needs an ssl_folder")
            self.encoder = FrozenSSLEncoder(ssl_folder, random_init)
            self.ssl_folder = str(pathlib.Path(ssl_folder).resolve())
        else:
            if random_init:
                raise ValueError("random_init applies to features='ssl'")
            self.encoder = FbankFeatures(n_mels, sample_rate)
            self.ssl_folder = None
        self.features = features
        self.sample_rate = sample_rate
        self.random_init = bool(random_init)
        self.num_layers = self.encoder.num_layers
        self.out_dim = self.encoder.out_dim
        self._frame_rate = None  # measured at its first use

    def layers(self, wavs, wav_lens):
        """Frozen features of a batch (see :meth:`FrozenLayers.forward`)."""
        return self.encoder(wavs, wav_lens)

    @property
    def frame_rate(self):
        """Frames per second of the features (measured once, on 10 s of
        silence)."""
        if self._frame_rate is None:
            seconds = 10
            param = next(iter(self.encoder.parameters()), None)
            device = param.device if param is not None else "cpu"
            wavs = torch.zeros(1, seconds * self.sample_rate, device=device)
            hidden, _ = self(wavs, torch.ones(1, device=device))
            self._frame_rate = hidden.shape[2] / seconds
        return self._frame_rate

    def fingerprint(self):
        """Identifies these features, for the feature cache.

        The weights enter through a checksum of their values, so two
        random-init encoders drawn with different seeds differ.

        Returns
        -------
        dict
        """
        digest = hashlib.sha1()
        for name, tensor in sorted(self.encoder.state_dict().items()):
            values = tensor.detach().flatten()[:256].float().cpu()
            digest.update(name.encode())
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(values.numpy().tobytes())
        return {
            "features": self.features,
            "random_init": self.random_init,
            "ssl_folder": self.ssl_folder,
            "num_layers": self.num_layers,
            "out_dim": self.out_dim,
            "weights_sha1": digest.hexdigest(),
        }
