#!/usr/bin/env python3
"""Transcribes audio files with a model fine-tuned by train.py.

    python transcribe.py results/<run>/finetuned_model audio.flac [...]

Prints ``<file><TAB><transcript>`` per file (greedy CTC decoding; the
audio is read at 16 kHz, resampled if needed).

Authors
-------
* summary_ssl contributors 2026
"""

import argparse

from summary_ssl.finetune.finetuned_model import FinetunedCTC


def main(argv=None):
    """Prints the transcript of each file; returns them (for tests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="train.py's finetuned_model/")
    parser.add_argument("audio", nargs="+", help="audio files")
    args = parser.parse_args(argv)
    model = FinetunedCTC(args.model_dir)
    texts = []
    for path in args.audio:
        texts.append(model.transcribe_file(path))
        print(f"{path}\t{texts[-1]}")
    return texts


if __name__ == "__main__":
    main()
