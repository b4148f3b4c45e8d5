"""Synthesis and writing of toy corpus files, with their manifest entries.

Authors
 * summary_ssl contributors 2026
"""

import hashlib
import os

import soundfile as sf

from tools.toy.espeak import synthesize


class Recorder:
    """Synthesizes utterances and writes them, keeping the manifest.

    Arguments
    ---------
    root : str
        Corpus root folder.
    sample_rate : int
        Output sample rate.
    bandwidth : float, optional
        Low-pass cutoff (Hz) of the resampling filter.
    progress : callable, optional
        Called once per written audio file (e.g. a tqdm ``update``).
    """

    def __init__(self, root, sample_rate=16000, bandwidth=None, progress=None):
        self.root = root
        self.sample_rate = sample_rate
        self.bandwidth = bandwidth
        self.progress = progress
        self.audio = []
        self.annotations = []
        self._cache = {}

    def synthesize(self, text, voice, style):
        """Returns int16 samples of ``text``, reusing earlier syntheses."""
        key = (text, voice, style)
        if key not in self._cache:
            if len(self._cache) >= 512:
                self._cache.clear()
            self._cache[key] = synthesize(
                text, voice, style, self.sample_rate, self.bandwidth
            )
        return self._cache[key]

    def speak(
        self,
        rng,
        make,
        voice,
        style,
        seconds,
        text_of=str,
        avoid=(),
        tries=40,
    ):
        """Synthesizes items from ``make(rng)`` until one fits.

        Arguments
        ---------
        rng : random.Random
            The source of every choice.
        make : callable
            ``make(rng)`` returns an item (a text, or anything holding one).
        voice : Voice
            The speaker.
        style : Style
            The speaking style.
        seconds : tuple
            Accepted duration range (min, max).
        text_of : callable
            Returns the text to speak from an item.
        avoid : collection of str
            Texts to use only when nothing else fits (already said).
        tries : int
            How many items to try before keeping the last.

        Returns
        -------
        item
            The first item whose duration lies in ``seconds`` (else the
            closest).
        numpy.ndarray
            Its int16 samples.
        """
        low, high = seconds
        best = None
        for _ in range(tries):
            item = make(rng)
            if text_of(item) in avoid and best is not None:
                continue
            samples = self.synthesize(text_of(item), voice, style)
            duration = len(samples) / self.sample_rate
            miss = max(low - duration, duration - high, 0.0)
            miss += 100.0 * (text_of(item) in avoid)
            if best is None or miss < best[0]:
                best = (miss, item, samples)
            if miss == 0.0:
                break
        return best[1], best[2]

    def save_audio(self, relpath, samples, **meta):
        """Writes 16-bit FLAC or WAV (by extension) and records it."""
        path = os.path.join(self.root, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fmt = "FLAC" if relpath.endswith(".flac") else "WAV"
        extra = {"compression_level": 1.0} if fmt == "FLAC" else {}
        sf.write(
            path,
            samples,
            self.sample_rate,
            format=fmt,
            subtype="PCM_16",
            **extra,
        )
        entry = {"path": relpath.replace(os.sep, "/")}
        entry.update(meta)
        entry["num_samples"] = int(len(samples))
        entry["sha256"] = _sha256(path)
        self.audio.append(entry)
        if self.progress is not None:
            self.progress()

    def save_text(self, relpath, text):
        """Writes an annotation file (UTF-8, LF) and records it."""
        path = os.path.join(self.root, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fout:
            fout.write(text)
        entry = {"path": relpath.replace(os.sep, "/"), "sha256": _sha256(path)}
        self.annotations.append(entry)


def _sha256(path):
    with open(path, "rb") as fin:
        return hashlib.sha256(fin.read()).hexdigest()
