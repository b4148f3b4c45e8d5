"""Audio file checks, exclusion reports and audio loading.

Every data preparation in :mod:`summary_ssl.dataio` passes each audio file
through :func:`check_audio` and records the result in an
:class:`ExclusionReport`, so nothing is dropped silently: the report counts
the reasons, logs a one-line summary and writes the excluded paths to
``<save_folder>/excluded_<csv>.txt``.

:func:`load_audio` is what the training pipelines call to read a file: it
reads with soundfile through SpeechBrain's ``audio_io`` (``torchaudio.load``
needs torchcodec and FFmpeg since torchaudio 2.9), mixes down to mono and
resamples when the file's rate is not the wanted one.

Authors
 * summary_ssl contributors 2026
"""

import logging
import os
from collections import Counter
from dataclasses import dataclass

import torch
import torchaudio
from speechbrain.dataio import audio_io

logger = logging.getLogger(__name__)

MISSING = "missing"
EMPTY = "empty"
UNREADABLE = "unreadable"
WRONG_RATE = "wrong sample rate"
TOO_SHORT = "too short"
TOO_LONG = "too long"
#: Every reason :func:`check_audio` can give, in reporting order.
REASONS = (MISSING, EMPTY, UNREADABLE, WRONG_RATE, TOO_SHORT, TOO_LONG)


@dataclass
class AudioCheck:
    """The verdict on one audio file.

    Arguments
    ---------
    path : str
        The file.
    reason : str, optional
        Why it is excluded (one of :data:`REASONS`, or a caller's own
        reason); None when it is kept.
    detail : str
        More about the reason (the error message, the rate found, ...).
    duration : float
        Duration in seconds (0 when unknown).
    sample_rate : int, optional
        The file's sample rate, when readable.
    resample : bool
        True when the file is kept but must be resampled on loading.
    """

    path: str
    reason: str = None
    detail: str = ""
    duration: float = 0.0
    sample_rate: int = None
    resample: bool = False

    @property
    def ok(self):
        """Whether the file is kept."""
        return self.reason is None


def check_audio(
    path,
    sample_rate=16000,
    min_duration=None,
    max_duration=None,
    resample=False,
    decode=False,
):
    """Decides whether an audio file is kept, and why not.

    Only the header is read (fast), unless ``decode`` is set.

    Arguments
    ---------
    path : str
        The audio file.
    sample_rate : int
        The expected sample rate.
    min_duration, max_duration : float, optional
        Accepted duration range in seconds (no limit when None).
    resample : bool
        Keep files at another rate (marked ``resample=True``) instead of
        excluding them.
    decode : bool
        Also decode all samples, to catch files corrupted after a valid
        header.

    Returns
    -------
    AudioCheck
        ``reason`` is None for a kept file.

    Example
    -------
    >>> check_audio("/no/such/file.wav").reason
    'missing'
    >>> import numpy as np, os, soundfile as sf
    >>> tmp = os.path.join(getfixture("tmp_path"), "a.wav")
    >>> sf.write(tmp, np.zeros(8000, dtype="int16"), 8000)
    >>> check_audio(tmp).reason
    'wrong sample rate'
    >>> check_audio(tmp, resample=True).resample
    True
    >>> check_audio(tmp, resample=True, min_duration=2.0).reason
    'too short'
    """
    if not os.path.isfile(path):
        return AudioCheck(path, MISSING)
    if os.path.getsize(path) == 0:
        return AudioCheck(path, EMPTY, "0 bytes")
    try:
        info = audio_io.info(path)
        if decode:
            audio_io.load(path, dtype=torch.int16)
    except RuntimeError as err:  # audio_io wraps soundfile's errors
        return AudioCheck(path, UNREADABLE, str(err).splitlines()[0])
    rate = info.sample_rate
    if info.frames <= 0:
        return AudioCheck(path, EMPTY, "0 samples", 0.0, rate)
    check = AudioCheck(path, None, "", info.frames / rate, rate)
    if rate != sample_rate:
        if not resample:
            check.reason = WRONG_RATE
            check.detail = f"{rate} Hz, expected {sample_rate} Hz"
            return check
        check.resample = True
    if min_duration is not None and check.duration < min_duration:
        check.reason = TOO_SHORT
        check.detail = f"{check.duration:.3f} s < {min_duration} s"
    elif max_duration is not None and check.duration > max_duration:
        check.reason = TOO_LONG
        check.detail = f"{check.duration:.3f} s > {max_duration} s"
    return check


class ExclusionReport:
    """Counts checked and excluded files, and says why.

    Arguments
    ---------
    name : str
        What the files are (a csv name, a split), for the messages.

    Example
    -------
    >>> report = ExclusionReport("train.csv")
    >>> report.add(AudioCheck("/a.wav", duration=1.0))
    True
    >>> report.add(AudioCheck("/b.wav", "missing"))
    False
    >>> report.summary()
    'train.csv: excluded 1 of 2 files: 1 missing (first: /b.wav)'
    """

    def __init__(self, name="files"):
        self.name = name
        self.checked = 0
        self.excluded = []
        self.resampled = []

    def add(self, check):
        """Records one :class:`AudioCheck`; returns whether it is kept."""
        self.checked += 1
        if not check.ok:
            self.excluded.append(check)
        elif check.resample:
            self.resampled.append(check)
        return check.ok

    def exclude(self, path, reason, detail=""):
        """Records a file excluded for a reason of the caller's own."""
        return self.add(AudioCheck(path, reason, detail))

    @property
    def counts(self):
        """Counter of exclusion reasons."""
        return Counter(check.reason for check in self.excluded)

    def summary(self):
        """Returns a one-line summary of the exclusions."""
        if not self.excluded:
            text = f"{self.name}: kept all {self.checked} files"
        else:
            first = {}
            for check in self.excluded:
                first.setdefault(check.reason, check.path)
            order = sorted(
                self.counts.items(),
                key=lambda kv: (_rank(kv[0]), kv[0]),
            )
            parts = [
                f"{count} {reason} (first: {first[reason]})"
                for reason, count in order
            ]
            text = (
                f"{self.name}: excluded {len(self.excluded)} of "
                f"{self.checked} files: " + ", ".join(parts)
            )
        if self.resampled:
            rates = sorted({c.sample_rate for c in self.resampled})
            text += (
                f"; {len(self.resampled)} kept for resampling from "
                + "/".join(f"{r} Hz" for r in rates)
            )
        return text

    def log(self, log=None):
        """Logs the summary: a warning when files were excluded."""
        log = log or logger
        level = logging.WARNING if self.excluded else logging.INFO
        log.log(level, self.summary())

    def write(self, path):
        """Writes one ``reason<TAB>path<TAB>detail`` line per excluded file.

        Files kept for resampling follow, with the reason ``resample``.
        """
        with open(path, "w", encoding="utf-8") as fout:
            fout.write(f"# {self.summary()}\n")
            for check in self.excluded:
                fout.write(f"{check.reason}\t{check.path}\t{check.detail}\n")
            for check in self.resampled:
                fout.write(f"resample\t{check.path}\t{check.sample_rate} Hz\n")


def _rank(reason):
    return REASONS.index(reason) if reason in REASONS else len(REASONS)


def require_path(path, what):
    """Raises FileNotFoundError naming ``path`` unless it exists.

    Arguments
    ---------
    path : str
        The expected file or folder.
    what : str
        What it is, for the message (e.g. ``"SLURP annotations"``).

    Returns
    -------
    str
        ``path``, for chaining.

    Example
    -------
    >>> require_path("/no/such/veri_test2.txt", "VoxCeleb trial list")
    Traceback (most recent call last):
     ...
    FileNotFoundError: VoxCeleb trial list not found: expected /no/such/...
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} not found: expected {path}")
    return path


def load_audio(path, sample_rate=16000, start=None, stop=None):
    """Reads an audio file as a float32 mono tensor at ``sample_rate``.

    Arguments
    ---------
    path : str
        Any file soundfile reads (WAV, FLAC, OGG, ...).
    sample_rate : int
        The wanted rate; the file is resampled with
        ``torchaudio.functional.resample`` when its rate differs.
    start, stop : float, optional
        Read only this segment, in seconds (default: from the start, to
        the end).

    Returns
    -------
    torch.Tensor
        Shape (samples,), float32 in [-1, 1]; multi-channel files are
        averaged.

    Example
    -------
    >>> import numpy as np, os, soundfile as sf
    >>> tmp = os.path.join(getfixture("tmp_path"), "a.flac")
    >>> sf.write(tmp, np.zeros((8000, 2), dtype="int16"), 8000)
    >>> x = load_audio(tmp)
    >>> x.shape, x.dtype
    (torch.Size([16000]), torch.float32)
    >>> load_audio(tmp, start=0.25, stop=0.75).shape
    torch.Size([8000])
    """
    offset, frames = 0, -1
    if start is not None or stop is not None:
        rate = audio_io.info(path).sample_rate
        offset = int(round((start or 0.0) * rate))
        if stop is not None:
            frames = max(0, int(round(stop * rate)) - offset)
    audio, rate = audio_io.load(
        path, dtype=torch.float32, frame_offset=offset, num_frames=frames
    )
    signal = audio.mean(dim=0)
    if rate != sample_rate:
        signal = torchaudio.functional.resample(signal, rate, sample_rate)
    return signal
