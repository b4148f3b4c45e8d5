"""Writers of broken audio files, to check that preparations exclude them.

Each function writes one kind of problem a real corpus has (a 0-byte file
from an interrupted copy, random bytes, a file at another sample rate, a
file too short to use) at a given path. The tests of every preparation in
:mod:`summary_ssl.dataio` use them on copies of the toy corpus.

Example
-------
>>> import os
>>> from summary_ssl.dataio.audio_checks import check_audio
>>> folder = getfixture("tmp_path")
>>> write_empty(os.path.join(folder, "a.wav"))
>>> write_corrupt(os.path.join(folder, "b.flac"))
>>> write_tone(os.path.join(folder, "c.wav"), 0.1)
>>> [check_audio(os.path.join(folder, f), min_duration=0.5).reason
...  for f in ("a.wav", "b.flac", "c.wav")]
['empty', 'unreadable', 'too short']

Authors
 * summary_ssl contributors 2026
"""

import os
import random

import numpy as np
import soundfile as sf

from tools.toy.espeak import resample


def _folder(path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def write_empty(path):
    """Writes a 0-byte file."""
    _folder(path)
    open(path, "wb").close()


def write_corrupt(path, size=4096, seed=0):
    """Writes ``size`` random bytes (no valid audio header)."""
    _folder(path)
    rng = random.Random(seed)
    with open(path, "wb") as fout:
        fout.write(bytes(rng.getrandbits(8) for _ in range(size)))


def write_tone(path, seconds, sample_rate=16000, frequency=440.0):
    """Writes a 16-bit sine tone (FLAC or WAV, by extension).

    Arguments
    ---------
    path : str
        Output file.
    seconds : float
        Duration; 0 writes a valid file with no samples.
    sample_rate : int
        Its sample rate.
    frequency : float
        Tone frequency in Hz.
    """
    _folder(path)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    x = (0.1 * np.sin(2 * np.pi * frequency * t) * 32767).astype(np.int16)
    sf.write(path, x, sample_rate, subtype="PCM_16")


def write_resampled(source, path, sample_rate=8000):
    """Writes a copy of an audio file at another sample rate.

    Arguments
    ---------
    source : str
        An audio file.
    path : str
        Output file (format by extension).
    sample_rate : int
        The new rate.
    """
    _folder(path)
    x, rate = sf.read(source, dtype="float64")
    y = resample(x, rate, sample_rate)
    y = np.clip(np.round(y * 32767), -32768, 32767).astype(np.int16)
    sf.write(path, y, sample_rate, subtype="PCM_16")
