"""The base class of the encoders that pretraining exports.

:class:`~summary_ssl.lobes.encoders.wav2vec2.Wav2Vec2Encoder` and
:class:`~summary_ssl.lobes.encoders.s3lspeech.S3LEncoder` are what
:func:`summary_ssl.pretrained.export_encoder` writes and what the MP3S
probes and fine-tuning load. They share one calling convention:
``model(wavs, wav_lens, output_hidden_states=True)``, with ``wavs`` (B, N)
waveforms and ``wav_lens`` (B,) relative lengths in (0, 1] (SpeechBrain
convention), returns a dict with ``context``, ``padding``, and, when asked,
``hidden_states`` (the encoder's input and every layer's output, stacked)
at ``frame_lengths`` (B,) real frames; and they have ``num_hidden_states``
and ``hidden_size``.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn


class ExportableEncoder(nn.Module):
    """Base of the exported encoders (see the module docstring).

    A subclass holds its layer stack in ``encoder`` (with a ``layers``
    attribute) and defines the ``hidden_size`` property.

    Example
    -------
    >>> class Tiny(ExportableEncoder):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.encoder = nn.Module()
    ...         self.encoder.layers = [nn.Identity()] * 2
    >>> Tiny().num_hidden_states
    3
    >>> Tiny.sample_lengths(torch.zeros(2, 100), torch.tensor([1.0, 0.5]))
    tensor([100,  50])
    """

    @property
    def num_hidden_states(self):
        """Hidden states returned: the encoder's input and every layer."""
        return len(self.encoder.layers) + 1

    @staticmethod
    def sample_lengths(wavs, wav_lens):
        """Absolute lengths in samples from SpeechBrain's relative ones."""
        return torch.round(wav_lens * wavs.shape[1]).long()
