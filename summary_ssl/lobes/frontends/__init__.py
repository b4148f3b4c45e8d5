"""Front ends that turn 16 kHz waveforms into 50 Hz latent frames.

``summary_ssl.lobes.frontends.FbankCNNFrontEnd`` and ``RawCNNFrontEnd``
are the paths the recipes' YAML files name.
"""

from summary_ssl.lobes.frontends.cnn import (  # noqa: F401
    NORMALISATIONS,
    FbankCNNFrontEnd,
    RawCNNFrontEnd,
)
from summary_ssl.lobes.frontends.fbank import DeviceFbank  # noqa: F401
