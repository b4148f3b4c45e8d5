"""Counts of the toy corpus, per dataset.

Each spec holds the counts of one dataset of the toy corpus (speakers,
utterances, accepted durations); the defaults give the committed corpus,
and ``scaled(factor)`` gives about ``factor`` times the audio.

Example
-------
>>> spec = IemocapSpec()
>>> spec.utterances(), spec.scaled(2).utterances()
(42, 84)

Authors
 * summary_ssl contributors 2026
"""

import math
from dataclasses import dataclass, field, replace

from tools.toy.text import INTENTS


def _grow(count, factor):
    return max(1, int(round(count * factor)))


@dataclass
class LibriSpeechSpec:
    """Counts for the LibriSpeech stand-in.

    Arguments
    ---------
    splits : dict
        Split name -> (speakers, utterances per speaker).
    seconds : tuple
        Accepted duration range (min, max) in seconds, training splits.
    eval_seconds : tuple
        Accepted duration range in the dev and test splits.
    """

    splits: dict = field(
        default_factory=lambda: {
            "train-clean-100": (8, 5),
            "dev-clean": (2, 4),
            "test-clean": (2, 4),
        }
    )
    seconds: tuple = (2.5, 3.5)
    eval_seconds: tuple = (1.5, 2.2)

    def scaled(self, factor):
        """Returns a copy with about ``factor`` times the audio."""
        root = math.sqrt(factor)
        splits = {
            name: (_grow(spk, root), _grow(utt, root))
            for name, (spk, utt) in self.splits.items()
        }
        return replace(self, splits=splits)

    def utterances(self):
        """Returns the number of utterances this spec makes."""
        return sum(spk * utt for spk, utt in self.splits.values())


@dataclass
class SlurpSpec:
    """Counts for the SLURP stand-in.

    Arguments
    ---------
    intents : tuple
        Intents to use (keys of ``tools.toy.text.INTENTS``).
    sentences : dict
        Split name -> sentences (jsonl lines) per intent.
    speakers : int
        Number of distinct speakers.
    second_session : float
        Probability that a second speaker also recorded a sentence.
    both_mics : float
        Probability that a session kept both its headset and its far-field
        recording (otherwise one of the two is kept).
    seconds : tuple
        Accepted duration range (min, max), in seconds.
    """

    intents: tuple = tuple(INTENTS)[:8]
    sentences: dict = field(
        default_factory=lambda: {"train": 5, "devel": 2, "test": 2}
    )
    speakers: int = 8
    second_session: float = 0.05
    both_mics: float = 0.05
    seconds: tuple = (1.5, 1.75)

    def scaled(self, factor):
        """Returns a copy with about ``factor`` times the audio."""
        sentences = {k: _grow(v, factor) for k, v in self.sentences.items()}
        speakers = _grow(self.speakers, math.sqrt(factor))
        return replace(
            self,
            intents=tuple(INTENTS),
            sentences=sentences,
            speakers=speakers,
        )

    def utterances(self):
        """Returns the expected number of recordings."""
        per = (1 + self.second_session) * (1 + self.both_mics)
        return sum(self.sentences.values()) * len(self.intents) * per


@dataclass
class IemocapSpec:
    """Counts for the IEMOCAP stand-in (5 sessions, 2 speakers each).

    Arguments
    ---------
    labels : tuple
        Emotion labels of the utterances of every session.
    extras : tuple
        (session, label) pairs: extra utterances with non-target labels.
    seconds : tuple
        Accepted duration range (min, max), in seconds.
    """

    labels: tuple = ("neu", "neu", "hap", "exc", "sad", "sad", "ang", "ang")
    extras: tuple = ((1, "fru"), (5, "xxx"))
    seconds: tuple = (1.5, 1.65)

    def scaled(self, factor):
        """Returns a copy with about ``factor`` times the audio."""
        reps = _grow(1, factor)
        return replace(
            self, labels=self.labels * reps, extras=self.extras * reps
        )

    def utterances(self):
        """Returns the number of utterances this spec makes."""
        return 5 * len(self.labels) + len(self.extras)


@dataclass
class VoxCelebSpec:
    """Counts for the VoxCeleb1 stand-in.

    Arguments
    ---------
    train_speakers, train_utterances : int
        Speakers outside the test range and utterances per speaker.
    test_speakers, test_utterances : int
        Speakers in id10270-id10309 and utterances per speaker.
    videos : int
        YouTube videos per speaker.
    trials : int
        Trials in ``veri_test2.txt``, half target and half non-target.
    seconds : tuple
        Accepted duration range (min, max), in seconds.
    """

    train_speakers: int = 4
    train_utterances: int = 3
    test_speakers: int = 4
    test_utterances: int = 3
    videos: int = 2
    trials: int = 40
    seconds: tuple = (1.5, 1.8)

    def scaled(self, factor):
        """Returns a copy with about ``factor`` times the audio."""
        root = math.sqrt(factor)
        return replace(
            self,
            train_speakers=_grow(self.train_speakers, root),
            train_utterances=_grow(self.train_utterances, root),
            test_speakers=min(40, _grow(self.test_speakers, root)),
            test_utterances=_grow(self.test_utterances, root),
            trials=_grow(self.trials, factor),
        )

    def utterances(self):
        """Returns the number of utterances this spec makes."""
        train = self.train_speakers * self.train_utterances
        return train + self.test_speakers * self.test_utterances
