#!/usr/bin/env python3
"""DistilHuBERT-style distillation of an exported encoder into a small
student (2 layers by default).

    python train.py hparams/distil_summarymixing.yaml \\
        --teacher_folder=EXPORTED_DIR --data_folder=/LibriSpeech

Multi-GPU: ``torchrun --nproc_per_node=4 train.py hparams/...``. Data
sources, batching, checkpoints, resume and the export are the pretraining
recipes' (``summary_ssl.brains.recipe``); the objective is
``DistillationBrain``'s. The student is exported (without its prediction
heads) to ``<output_folder>/exported_encoder``.

Authors
-------
* summary_ssl contributors 2026
"""

import torch

from summary_ssl.brains.distillation import DistillationBrain
from summary_ssl.brains.recipe import run_pretraining


def main(argv=None):
    """Runs the recipe; returns the Brain (for tests)."""
    return run_pretraining(DistillationBrain, argv)


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = False
    main()
