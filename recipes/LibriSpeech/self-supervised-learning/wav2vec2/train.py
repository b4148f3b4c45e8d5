#!/usr/bin/env python3
"""wav2vec 2.0 pretraining (README.md): ``python train.py
hparams/summarymixing_w2v2.yaml``. Libri-Light's train.py links here."""

import functools

from summary_ssl.brains.recipe import run_pretraining
from summary_ssl.brains.wav2vec2 import W2V2Brain

main = functools.partial(run_pretraining, W2V2Brain)

if __name__ == "__main__":
    main()
