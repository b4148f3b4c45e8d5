"""The tiny exported encoder that the probe tests share."""

import torch

from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd
from summary_ssl.pretrained import export_encoder


def tiny_encoder(folder, dim=32):
    """Exports a tiny encoder (2 SummaryMixing Conformer layers of width
    ``dim``, seed 0) to ``folder``; returns the folder (str)."""
    torch.manual_seed(0)
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
        ConformerEncoder(
            2, dim, 64, 4, kernel_size=3, attention_type="SummaryMixing"
        ),
        d_model=dim,
    )
    return str(export_encoder(model, folder))
