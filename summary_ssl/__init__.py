"""summary_ssl: cheap self-supervised speech pretraining on SpeechBrain.

Subpackages
-----------
nnet
    Mixers: :class:`~summary_ssl.nnet.summary_mixing.SummaryMixing` and
    :class:`~summary_ssl.nnet.attention.FlashMHA`.
lobes
    Padding-safe Conformer encoder, wav2vec 2.0 front ends and pieces.
brains
    :class:`~summary_ssl.brains.wav2vec2.W2V2Brain`.
dataio
    Data preparation for the real dataset layouts and audio loading.
"""

__version__ = "0.1.0"
