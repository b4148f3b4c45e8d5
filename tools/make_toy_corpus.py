#!/usr/bin/env python3
"""Synthesizes the toy corpus with espeak-ng.

The logic lives in :mod:`tools.toy.corpus`.

Usage (from the repository root)::

    python tools/make_toy_corpus.py --out tests/samples/toy_corpus --seed 1234
    python tools/make_toy_corpus.py --out data/toy1h --hours 1

Needs ``espeak-ng`` on PATH (``apt-get install espeak-ng``).

Authors
 * summary_ssl contributors 2026
"""

import os
import sys

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
)

from tools.toy.corpus import main  # noqa: E402

if __name__ == "__main__":
    main()
