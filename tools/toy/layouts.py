"""Writers that lay synthetic speech out as the real datasets are on disk.

Each ``write_<dataset>`` function draws its speakers, texts and labels from
the :class:`random.Random` it is given, synthesizes the audio through a
:class:`Recorder` and writes the dataset's real folder layout and
annotation files under the corpus root:

* ``LibriSpeech/<split>/<spk>/<chapter>/<spk>-<chapter>-<utt4>.flac`` and
  ``<spk>-<chapter>.trans.txt``;
* ``SLURP/slurp/{train,devel,test}.jsonl`` and ``SLURP/slurp_real/*.flac``;
* ``IEMOCAP/IEMOCAP_full_release/Session<n>/sentences/wav/<dialog>/*.wav``
  with ``dialog/EmoEvaluation/<dialog>.txt`` and
  ``dialog/transcriptions/<dialog>.txt``;
* ``VoxCeleb1/wav/<id>/<video>/<nnnnn>.wav`` and ``VoxCeleb1/veri_test2.txt``.

The counts come from the specs of :mod:`tools.toy.specs`; the
audio is made and written by a
:class:`~tools.toy.recorder.Recorder`.

Authors
 * summary_ssl contributors 2026
"""

import functools
import itertools
import json
import string

import numpy as np

from tools.toy.espeak import (
    EMOTION_STYLES,
    NEUTRAL,
    sample_voices,
)
from tools.toy.text import (
    book_sentence,
    dialog_line,
    interview_line,
    slurp_command,
)

# Voice gain ranges. The FLAC datasets are recorded quieter (peaks at -20
# to -33 dBFS), which keeps the committed files small; WAV size is fixed.
_FLAC_GAIN = (0.06, 0.12)
_WAV_GAIN = (0.15, 0.3)
# SLURP's far-field microphone, imitated by two early reflections.
_ROOM = ((0, 0.55), (112, 0.2), (304, 0.12))


def _meta(dataset, split, speaker, text, voice, style="neu", **labels):
    return {
        "dataset": dataset,
        "split": split,
        "speaker": speaker,
        "text": text,
        "labels": labels,
        "voice": voice.as_dict(),
        "style": style,
    }


def _voices(rng, count, gain):
    """Returns ``count`` voices alternating female and male."""
    female = sample_voices(rng, (count + 1) // 2, "F", gain)
    male = sample_voices(rng, count // 2, "M", gain)
    mixed = itertools.chain(*itertools.zip_longest(female, male))
    return [v for v in mixed if v is not None]


def write_librispeech(rec, rng, spec):
    """Writes the LibriSpeech stand-in (FLAC, one chapter per speaker)."""
    n_spk = sum(spk for spk, _ in spec.splits.values())
    spk_ids = rng.sample(range(14, 9000), n_spk)
    chapters = rng.sample(range(1000, 300000), n_spk)
    voices = iter(_voices(rng, n_spk, _FLAC_GAIN))
    ids = iter(zip(spk_ids, chapters))
    said = set()
    for split, (n_split_spk, n_utt) in spec.splits.items():
        for _ in range(n_split_spk):
            (spk, chap), voice = next(ids), next(voices)
            folder = f"LibriSpeech/{split}/{spk}/{chap}"
            lines = []
            for i in range(n_utt):
                utt = f"{spk}-{chap}-{i:04d}"
                seconds = spec.seconds
                if split.startswith(("dev", "test")):
                    seconds = spec.eval_seconds
                text, x = rec.speak(
                    rng, book_sentence, voice, NEUTRAL, seconds, avoid=said
                )
                said.add(text)
                rec.save_audio(
                    f"{folder}/{utt}.flac",
                    x,
                    **_meta("LibriSpeech", split, str(spk), text, voice),
                )
                lines.append(f"{utt} {text}\n")
            rec.save_text(f"{folder}/{spk}-{chap}.trans.txt", "".join(lines))


def _far_field(x):
    y = np.zeros(len(x) + _ROOM[-1][0], dtype=np.float64)
    for delay, gain in _ROOM:
        y[delay : delay + len(x)] += gain * x
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def _sentence(cmd):
    return cmd["sentence"]


def write_slurp(rec, rng, spec):
    """Writes the SLURP stand-in: jsonl annotations and slurp_real FLACs."""
    voices = _voices(rng, spec.speakers, _FLAC_GAIN)
    said = set()
    n_lines = sum(spec.sentences.values()) * len(spec.intents)
    slurp_ids = iter(rng.sample(range(1, max(18000, 2 * n_lines)), n_lines))
    stamps = iter(rng.sample(range(1434000000, 1510000000), 2 * n_lines))
    for split, per_intent in spec.sentences.items():
        lines = []
        for intent in list(spec.intents) * per_intent:
            cmd, recordings = None, []
            sessions = 2 if rng.random() < spec.second_session else 1
            for spk in rng.sample(range(len(voices)), sessions):
                voice = voices[spk]
                if cmd is None:
                    cmd, x = rec.speak(
                        rng,
                        functools.partial(slurp_command, intent=intent),
                        voice,
                        NEUTRAL,
                        spec.seconds,
                        text_of=_sentence,
                        avoid=said,
                    )
                    said.add(cmd["sentence"])
                else:
                    x = rec.synthesize(cmd["sentence"], voice, NEUTRAL)
                mics = ["", "-headset"]
                if rng.random() >= spec.both_mics:
                    mics = [rng.choice(mics)]
                stamp = next(stamps)
                for mic in sorted(mics, reverse=True):
                    name = f"audio-{stamp}{mic}.flac"
                    audio = x if mic else _far_field(x)
                    rec.save_audio(
                        f"SLURP/slurp_real/{name}",
                        audio,
                        **_meta(
                            "SLURP",
                            split,
                            f"slurp_spk{spk:02d}",
                            cmd["sentence"],
                            voice,
                            intent=intent,
                            scenario=cmd["scenario"],
                            action=cmd["action"],
                        ),
                    )
                    has_ent = bool(cmd["entities"])
                    recordings.append(
                        {
                            "file": name,
                            "wer": 0.0,
                            "ent_wer": 0.0 if has_ent else None,
                            "status": "correct",
                        }
                    )
            line = {"slurp_id": next(slurp_ids)}
            line.update(cmd)
            line["recordings"] = recordings
            line["entities"] = line.pop("entities")
            lines.append(json.dumps(line) + "\n")
        rec.save_text(f"SLURP/slurp/{split}.jsonl", "".join(lines))


_CATEGORY = {
    "neu": "Neutral",
    "hap": "Happiness",
    "exc": "Excited",
    "sad": "Sadness",
    "ang": "Anger",
    "fru": "Frustration",
    "sur": "Surprise",
}
_VAD = {
    "neu": (2.5, 2.5, 2.5),
    "hap": (4.0, 3.0, 3.0),
    "exc": (4.0, 3.5, 3.0),
    "sad": (1.5, 2.0, 2.0),
    "ang": (1.5, 4.0, 4.0),
    "fru": (2.0, 3.5, 3.5),
    "sur": (3.5, 4.0, 2.5),
    "xxx": (2.5, 3.0, 3.0),
}


def _emo_block(rng, utt, label, start, end):
    """Returns one EmoEvaluation block in the release's line format."""
    v, a, d = (
        min(5.0, max(1.0, x + rng.choice((-0.5, 0, 0.5)))) for x in _VAD[label]
    )
    lines = [
        f"[{start:.4f} - {end:.4f}]\t{utt}\t{label}\t"
        f"[{v:.4f}, {a:.4f}, {d:.4f}]"
    ]
    if label == "xxx":
        cats = ["Frustration", "Neutral", "Anger"]
    else:
        cats = [_CATEGORY[label]] * 3
    self_id = utt.rsplit("_", 1)[1][0]
    for who, cat in zip(("E1", "E2", "E3", f"{self_id}1"), cats + cats[:1]):
        lines.append(f"C-{who}:\t{cat};\t()")
    for who in ("E1", "E2", f"{self_id}1"):
        val, act, dom = (int(round(x)) for x in (v, a, d))
        lines.append(f"A-{who}:\tval {val}; act {act}; dom  {dom};\t()")
    return "\n".join(lines) + "\n\n"


def write_iemocap(rec, rng, spec):
    """Writes the IEMOCAP stand-in: 5 sessions, an F and an M speaker."""
    base = "IEMOCAP/IEMOCAP_full_release"
    for session in range(1, 6):
        voices = {
            "F": sample_voices(rng, 1, "F", _WAV_GAIN)[0],
            "M": sample_voices(rng, 1, "M", _WAV_GAIN)[0],
        }
        said = {"F": set(), "M": set()}
        labels = list(spec.labels)
        labels += [lab for ses, lab in spec.extras if ses == session]
        rng.shuffle(labels)
        dialogs = [
            f"Ses{session:02d}F_impro{rng.randint(1, 8):02d}",
            f"Ses{session:02d}M_script{rng.randint(1, 3):02d}_"
            f"{rng.randint(1, 3)}",
        ]
        for d, dialog in enumerate(dialogs):
            clock, counters = rng.uniform(2.0, 7.0), {"F": 0, "M": 0}
            emo = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"]
            trans = []
            for label in labels[d :: len(dialogs)]:
                gender = rng.choice("FM")
                utt = f"{dialog}_{gender}{counters[gender]:03d}"
                counters[gender] += 1
                text, x = rec.speak(
                    rng,
                    dialog_line,
                    voices[gender],
                    EMOTION_STYLES[label],
                    spec.seconds,
                    avoid=said[gender],
                )
                said[gender].add(text)
                rec.save_audio(
                    f"{base}/Session{session}/sentences/wav/{dialog}/{utt}.wav",
                    x,
                    **_meta(
                        "IEMOCAP",
                        f"Session{session}",
                        f"Ses{session:02d}{gender}",
                        text,
                        voices[gender],
                        style=label,
                        emotion=label,
                    ),
                )
                start = clock + rng.uniform(0.3, 1.5)
                end = start + len(x) / rec.sample_rate
                clock = end
                emo.append(_emo_block(rng, utt, label, start, end))
                trans.append(f"{utt} [{start:08.4f}-{end:08.4f}]: {text}\n")
            folder = f"{base}/Session{session}/dialog"
            rec.save_text(f"{folder}/EmoEvaluation/{dialog}.txt", "".join(emo))
            rec.save_text(
                f"{folder}/transcriptions/{dialog}.txt", "".join(trans)
            )


_YT = string.ascii_letters + string.digits + "-_"


def write_voxceleb(rec, rng, spec):
    """Writes the VoxCeleb1 stand-in and its ``veri_test2.txt``."""
    outside = list(range(10001, 10270)) + list(range(10310, 11252))
    train_ids = sorted(rng.sample(outside, spec.train_speakers))
    test_ids = sorted(rng.sample(range(10270, 10310), spec.test_speakers))
    voices = _voices(rng, len(train_ids) + len(test_ids), _WAV_GAIN)
    test_utts = {}
    for n, spk in enumerate(train_ids + test_ids):
        sid = f"id{spk}"
        videos = [
            "".join(rng.choice(_YT) for _ in range(11))
            for _ in range(spec.videos)
        ]
        count = spec.train_utterances
        if spk in test_ids:
            count = spec.test_utterances
        said = set()
        for i in range(count):
            video = videos[i % len(videos)]
            rel = f"{sid}/{video}/{i // len(videos) + 1:05d}.wav"
            text, x = rec.speak(
                rng,
                interview_line,
                voices[n],
                NEUTRAL,
                spec.seconds,
                avoid=said,
            )
            said.add(text)
            split = "test" if spk in test_ids else "dev"
            rec.save_audio(
                f"VoxCeleb1/wav/{rel}",
                x,
                **_meta("VoxCeleb1", split, sid, text, voices[n]),
            )
            if spk in test_ids:
                test_utts.setdefault(sid, []).append(rel)
    rec.save_text("VoxCeleb1/veri_test2.txt", _trials(rng, test_utts, spec))


def _trials(rng, test_utts, spec):
    """Returns veri_test2.txt's text: balanced target/non-target trials."""
    target = [
        (a, b)
        for utts in test_utts.values()
        for a, b in itertools.permutations(utts, 2)
    ]
    nontarget = [
        (a, b)
        for s1, s2 in itertools.permutations(sorted(test_utts), 2)
        for a in test_utts[s1]
        for b in test_utts[s2]
    ]
    half = min(spec.trials // 2, len(target), len(nontarget))
    trials = [(1, a, b) for a, b in rng.sample(target, half)]
    trials += [(0, a, b) for a, b in rng.sample(nontarget, half)]
    trials.sort(key=lambda t: (t[1], -t[0], t[2]))
    return "".join(f"{lab} {a} {b}\n" for lab, a, b in trials)
