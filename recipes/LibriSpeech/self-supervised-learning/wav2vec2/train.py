#!/usr/bin/env python3
"""wav2vec 2.0 pretraining with SummaryMixing / FlashMHA / MHSA Conformers.

    python train.py hparams/summarymixing_w2v2.yaml --data_folder=/LibriSpeech

Multi-GPU: ``torchrun --nproc_per_node=4 train.py hparams/...``.
The Libri-Light recipe's train.py is a link to this file (its YAMLs are
overlays of these); multi-node: recipes/Libri-Light/.../README.md, "Scale".
At the end (and from any checkpoint with ``python -m summary_ssl.export``)
the encoder is exported to ``<output_folder>/exported_encoder``. The data
preparation, batching and export are shared with the other pretraining
recipes (``summary_ssl.brains.recipe``); the objective is ``W2V2Brain``'s.

Authors
-------
* summary_ssl contributors 2026
"""

import torch

from summary_ssl.brains.recipe import run_pretraining
from summary_ssl.brains.wav2vec2 import W2V2Brain


def main(argv=None):
    """Runs the recipe; returns the Brain (for tests)."""
    return run_pretraining(W2V2Brain, argv)


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = False
    main()
