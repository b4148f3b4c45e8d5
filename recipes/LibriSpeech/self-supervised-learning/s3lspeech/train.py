#!/usr/bin/env python3
"""S3LSpeech teacher-student pretraining (Lugo & Vielzeuf 2024).

    python train.py hparams/s3lspeech.yaml --data_folder=/LibriSpeech

Multi-GPU: ``torchrun --nproc_per_node=4 train.py hparams/...``.
The Libri-Light recipe's train.py is a link to this file (its YAMLs are
overlays of these); multi-node: recipes/Libri-Light/.../README.md, "Scale".
At the end (and from any checkpoint with ``python -m summary_ssl.export``)
the student's encoder is exported to ``<output_folder>/exported_encoder``,
which the MP3S runner probes. The data preparation, batching and export
are the wav2vec 2.0 recipe's (``summary_ssl.brains.recipe``); the
objective is ``TeacherStudentBrain``'s.

Authors
-------
* summary_ssl contributors 2026
"""

import torch

from summary_ssl.brains.recipe import run_pretraining
from summary_ssl.brains.teacher_student import TeacherStudentBrain


def main(argv=None):
    """Runs the recipe; returns the Brain (for tests)."""
    return run_pretraining(TeacherStudentBrain, argv)


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = False
    main()
