#!/usr/bin/env python3
"""Distillation into a small student (README.md): ``python train.py
hparams/distil_summarymixing.yaml --teacher_folder=DIR``."""

import functools

from summary_ssl.brains.distillation import DistillationBrain
from summary_ssl.brains.recipe import run_pretraining

main = functools.partial(run_pretraining, DistillationBrain)

if __name__ == "__main__":
    main()
