"""Speech synthesis with espeak-ng, for the toy corpus.

espeak-ng is a formant synthesizer: its output is a pure function of the
text and the options (checked with espeak-ng 1.51), so the corpus built from
it is reproducible. It writes 22.05 kHz 16-bit audio; :func:`synthesize`
resamples it to 16 kHz with a polyphase FIR filter (float64, no dither),
trims the silence around the words and applies the speaker's and the
speaking style's gains.

A :class:`Voice` is one synthetic speaker: an espeak voice with a variant
(``en-gb-scotland+m3``), a pitch (``-p``), a speed (``-s``) and a gain. A
:class:`Style` is a speaking style expressed as SSML prosody (relative
pitch, rate and pitch range) plus a gain: :data:`EMOTION_STYLES` holds the
ones that stand in for the IEMOCAP emotions.

Authors
 * summary_ssl contributors 2026
"""

import functools
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
from scipy.signal import firwin, resample_poly

ESPEAK = "espeak-ng"

#: espeak-ng English voices (accents) the toy speakers are drawn from.
ACCENTS = [
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
]
#: espeak-ng voice variants, by speaker gender.
VARIANTS = {
    "F": ["f1", "f2", "f3", "f4", "f5"],
    "M": ["m1", "m2", "m3", "m4", "m5", "m6", "m7"],
}
_PITCH = {"F": (45, 80), "M": (15, 50)}


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Arguments
    ---------
    name : str
        espeak-ng voice and variant, e.g. ``"en-gb+f2"``.
    gender : str
        ``"F"`` or ``"M"``.
    pitch : int
        espeak-ng ``-p`` (0 to 99).
    speed : int
        espeak-ng ``-s``, in words per minute.
    gain : float
        Linear gain applied to espeak-ng's output (peak is about 1).
    """

    name: str
    gender: str
    pitch: int
    speed: int
    gain: float

    def as_dict(self):
        """Returns the voice as a JSON-friendly dict."""
        return {
            "name": self.name,
            "gender": self.gender,
            "pitch": self.pitch,
            "speed": self.speed,
            "gain": self.gain,
        }


@dataclass(frozen=True)
class Style:
    """A speaking style, as SSML prosody plus a gain.

    Arguments
    ---------
    pitch : str
        SSML relative pitch, e.g. ``"+20%"``.
    rate : str
        SSML rate, e.g. ``"115%"``.
    range : str
        SSML pitch range: ``x-low``, ``low``, ``medium``, ``high``,
        ``x-high``.
    gain : float
        Linear gain on top of the voice's gain.
    """

    pitch: str = "+0%"
    rate: str = "100%"
    range: str = "medium"
    gain: float = 1.0


NEUTRAL = Style()
#: Styles standing in for IEMOCAP's categories: the four targets (neu, hap,
#: sad, ang), exc (merged into hap downstream) and some the probes skip.
EMOTION_STYLES = {
    "neu": NEUTRAL,
    "hap": Style("+25%", "112%", "x-high", 1.4),
    "exc": Style("+35%", "120%", "x-high", 1.6),
    "sad": Style("-15%", "78%", "x-low", 0.55),
    "ang": Style("+10%", "125%", "high", 2.0),
    "fru": Style("+5%", "105%", "low", 1.3),
    "sur": Style("+40%", "105%", "x-high", 1.3),
    "xxx": Style("+5%", "95%", "medium", 1.1),
}


def espeak_available():
    """Returns True when the espeak-ng executable is on PATH."""
    return shutil.which(ESPEAK) is not None


def espeak_version():
    """Returns espeak-ng's version string (e.g. ``"1.51"``), or None."""
    if not espeak_available():
        return None
    out = subprocess.run(
        [ESPEAK, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"text-to-speech:\s*(\S+)", out)
    return match.group(1) if match else out.strip()


def sample_voices(rng, count, gender, gain=(0.1, 0.2)):
    """Draws distinct voices of one gender.

    Accent and variant pairs are drawn without replacement while they last,
    then reused with other pitches and speeds.

    Arguments
    ---------
    rng : random.Random
        The source of every choice.
    count : int
        How many voices.
    gender : str
        ``"F"`` or ``"M"``.
    gain : tuple
        Range of the voices' linear gains (espeak-ng's peak is about 1).

    Returns
    -------
    list of Voice

    Example
    -------
    >>> import random
    >>> voices = sample_voices(random.Random(0), 3, "F")
    >>> len({v.name for v in voices}), voices[0].gender
    (3, 'F')
    """
    pairs = [(a, v) for a in ACCENTS for v in VARIANTS[gender]]
    voices = []
    while len(voices) < count:
        pool = list(pairs)
        rng.shuffle(pool)
        for accent, variant in pool[: count - len(voices)]:
            voices.append(
                Voice(
                    name=f"{accent}+{variant}",
                    gender=gender,
                    pitch=rng.randint(*_PITCH[gender]),
                    speed=rng.randint(150, 185),
                    gain=round(rng.uniform(*gain), 3),
                )
            )
    return voices


def _parse_wav(data):
    """Returns (sample_rate, int16 samples) of espeak-ng's --stdout WAV.

    espeak-ng streams its WAV with placeholder chunk sizes, so the data
    chunk is taken to run to the end of the bytes.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError("espeak-ng did not write a WAV stream")
    pos, sample_rate = 12, None
    while pos + 8 <= len(data):
        chunk, size = (
            data[pos : pos + 4],
            struct.unpack_from("<I", data, pos + 4)[0],
        )
        if chunk == b"fmt ":
            sample_rate = struct.unpack_from("<I", data, pos + 12)[0]
        if chunk == b"data":
            body = data[pos + 8 :]
            body = body[: len(body) // 2 * 2]
            return sample_rate, np.frombuffer(body, dtype="<i2")
        pos += 8 + size
    raise RuntimeError("espeak-ng WAV stream has no data chunk")


@functools.lru_cache(maxsize=8)
def _lowpass(up, down, orig_rate, bandwidth):
    """Returns the polyphase FIR filter for resample_poly (read-only)."""
    half_len = 10 * max(up, down)
    taps = firwin(
        2 * half_len + 1,
        min(bandwidth, orig_rate * up / down / 2),
        window=("kaiser", 5.0),
        fs=orig_rate * up,
    )
    taps.setflags(write=False)
    return taps


def resample(signal, orig_rate, new_rate, bandwidth=None):
    """Resamples deterministically with a Kaiser-windowed polyphase filter.

    Arguments
    ---------
    signal : numpy.ndarray
        1-D float signal.
    orig_rate : int
        Its sample rate.
    new_rate : int
        The wanted sample rate.
    bandwidth : float, optional
        Low-pass cutoff in Hz; defaults to the new Nyquist frequency.

    Returns
    -------
    numpy.ndarray
        float64 signal at ``new_rate``.

    Example
    -------
    >>> x = np.sin(np.arange(22050) * 2 * np.pi * 440 / 22050)
    >>> y = resample(x, 22050, 16000)
    >>> y.shape, round(float(np.abs(y[1000:-1000]).max()), 2)
    ((16000,), 1.0)
    """
    g = np.gcd(orig_rate, new_rate)
    up, down = new_rate // g, orig_rate // g
    taps = _lowpass(up, down, orig_rate, bandwidth or new_rate / 2)
    # resample_poly scales its filter in place: hand it a copy.
    return resample_poly(
        np.asarray(signal, dtype=np.float64), up, down, window=taps.copy()
    )


def _trim(signal, sample_rate, margin=0.1, threshold=0.02):
    """Cuts leading and trailing silence, keeping ``margin`` seconds."""
    loud = np.flatnonzero(np.abs(signal) > threshold * np.abs(signal).max())
    if loud.size == 0:
        return signal
    keep = int(margin * sample_rate)
    return signal[max(0, loud[0] - keep) : loud[-1] + 1 + keep]


def synthesize(text, voice, style=NEUTRAL, sample_rate=16000, bandwidth=None):
    """Speaks a text with espeak-ng and returns 16-bit samples.

    Arguments
    ---------
    text : str
        What to say (plain text; it is escaped into SSML).
    voice : Voice
        Who says it.
    style : Style
        How (prosody and gain); neutral by default.
    sample_rate : int
        Output sample rate.
    bandwidth : float, optional
        Low-pass cutoff in Hz for the resampling filter.

    Returns
    -------
    numpy.ndarray
        int16 mono samples, silence trimmed to 0.1 s on each side.

    Example
    -------
    >>> v = Voice("en-us+m3", "M", pitch=40, speed=170, gain=0.25)
    >>> x = synthesize("hello world", v)  # doctest: +SKIP
    >>> x.dtype, 0.5 < len(x) / 16000 < 2  # doctest: +SKIP
    (dtype('int16'), True)
    """
    ssml = (
        f'<speak><prosody pitch="{style.pitch}" rate="{style.rate}" '
        f'range="{style.range}">{escape(text)}</prosody></speak>'
    )
    cmd = [ESPEAK, "-m", "-v", voice.name, "-p", str(voice.pitch)]
    cmd += ["-s", str(voice.speed), "--stdout", ssml]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    orig_rate, samples = _parse_wav(wav)
    signal = resample(samples / 32768.0, orig_rate, sample_rate, bandwidth)
    signal = _trim(signal, sample_rate) * (voice.gain * style.gain)
    return np.clip(np.round(signal * 32767), -32768, 32767).astype(np.int16)
