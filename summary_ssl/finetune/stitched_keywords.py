"""A small real-speech CTC task: keyword recordings stitched together.

``real_speech/wake_words/<keyword>/<n>.flac`` holds real recordings of
6 keywords (``alexa``, ``computer``, ``jarvis``, ``smart_mirror``,
``snowboy``, ``view_glass``). :func:`prepare_stitched_keywords` splits
the files of each keyword into train / dev / test **by file** (a test
recording is never heard in training), then stitches 2 to 4 recordings
of one split, with short silences between them, into one utterance whose
transcript is their words (``smart_mirror`` -> ``SMART MIRROR``). It
writes the utterances in the LibriSpeech layout, so the CTC recipe reads
them as it reads LibriSpeech::

    <save_folder>/<split>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac
    <save_folder>/<split>/<spk>/<chapter>/<spk>-<chapter>.trans.txt

Unreadable recordings (14 of ``alexa``'s are corrupt as found upstream)
are decoded once, counted, excluded, and listed in
``<save_folder>/excluded_recordings.txt``. The recordings have no
speaker labels, so a speaker may appear in train and in test.

Example
-------
>>> keyword_words("smart_mirror")
'SMART MIRROR'

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import os
import random

import numpy as np
import soundfile as sf

from summary_ssl.dataio.audio_checks import ExclusionReport, check_audio

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
OPTIONS_FILE = "stitched_keywords.json"


def keyword_words(folder_name):
    """The transcript of a keyword folder: ``view_glass`` -> ``VIEW
    GLASS``."""
    return " ".join(folder_name.upper().split("_"))


def split_by_file(files, fractions, seed):
    """Shuffles ``files`` (seeded) and cuts them into splits.

    Arguments
    ---------
    files : list of str
    fractions : dict
        Split -> fraction of the files, for every split but ``train``,
        which takes the rest.
    seed : int

    Returns
    -------
    dict
        Split -> sorted files; no file is in two splits.

    Example
    -------
    >>> out = split_by_file([f"{i}.flac" for i in range(10)],
    ...                     {"test": 0.2, "dev": 0.1}, seed=0)
    >>> {k: len(v) for k, v in out.items()}
    {'test': 2, 'dev': 1, 'train': 7}
    """
    files = sorted(files)
    random.Random(seed).shuffle(files)
    out, start = {}, 0
    for split, fraction in fractions.items():
        n = int(round(fraction * len(files)))
        out[split] = sorted(files[start : start + n])
        start += n
    out["train"] = sorted(files[start:])
    return out


def stitch_groups(items, uses, min_keywords, max_keywords, seed):
    """Groups recordings into utterances of ``min``-``max`` recordings.

    Every recording is used ``uses`` times, never twice in one group.

    Arguments
    ---------
    items : list
        The recordings (any hashable items).
    uses : int
        How many groups each recording joins.
    min_keywords, max_keywords : int
        Group sizes (the last group may be shorter, never below 1).
    seed : int

    Returns
    -------
    list of list

    Example
    -------
    >>> groups = stitch_groups(list("abcdefgh"), 2, 2, 4, seed=0)
    >>> sorted(x for g in groups for x in g) == sorted(list("abcdefgh") * 2)
    True
    >>> all(len(set(g)) == len(g) for g in groups)
    True
    """
    rng = random.Random(seed)
    pool = [x for x in items for _ in range(uses)]
    rng.shuffle(pool)
    groups = []
    while pool:
        size = rng.randint(min_keywords, max_keywords)
        group = []
        rest = []
        for x in pool:
            if len(group) < size and x not in group:
                group.append(x)
            else:
                rest.append(x)
        groups.append(group)
        pool = rest
    return groups


def trim_silence(audio, sample_rate, threshold=0.05, margin=0.1):
    """Cuts the leading and trailing frames quieter than ``threshold``
    times the loudest 25 ms frame's RMS, keeping ``margin`` seconds.

    Example
    -------
    >>> x = np.zeros(16000)
    >>> x[6000:9000] = 0.5
    >>> len(trim_silence(x, 16000)) / 16000  # 0.2 s of sound, 0.1 s each side
    0.4
    """
    hop = int(0.025 * sample_rate)
    n = len(audio) // hop
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1))
    loud = np.nonzero(rms >= threshold * rms.max())[0]
    if len(loud) == 0:
        return audio
    pad = int(margin * sample_rate)
    start = max(0, loud[0] * hop - pad)
    stop = min(len(audio), (loud[-1] + 1) * hop + pad)
    return audio[start:stop]


def _stitch(paths, words, rng, sample_rate, silence, level):
    """One utterance: each recording trimmed and brought to RMS
    ``level``, with a random silence before, between and after them."""
    pieces = [np.zeros(int(rng.uniform(*silence) * sample_rate))]
    for path in paths:
        audio, _ = sf.read(path, dtype="float32", always_2d=True)
        audio = trim_silence(audio.mean(axis=1), sample_rate)
        rms = float(np.sqrt(np.mean(audio**2))) or 1.0
        pieces.append(audio * (level / rms))
        pieces.append(np.zeros(int(rng.uniform(*silence) * sample_rate)))
    audio = np.concatenate(pieces)
    return np.clip(audio, -1.0, 1.0), " ".join(words)


def prepare_stitched_keywords(
    data_folder,
    save_folder,
    test_fraction=0.2,
    dev_fraction=0.1,
    min_keywords=2,
    max_keywords=4,
    train_uses=2,
    silence=(0.1, 0.4),
    level=0.05,
    utterances_per_chapter=100,
    sample_rate=16000,
    seed=1234,
    keywords=None,
    max_files_per_keyword=None,
):
    """Writes the stitched keyword task in the LibriSpeech layout.

    Each split folder also gets ``sources.tsv``: every utterance's
    recordings, so that the split by file can be checked.

    Arguments
    ---------
    data_folder : str
        ``real_speech/wake_words`` (one folder per keyword).
    save_folder : str
        Where ``train/``, ``dev/`` and ``test/`` go.
    test_fraction, dev_fraction : float
        Fractions of each keyword's readable files held out.
    min_keywords, max_keywords : int
        Recordings per utterance.
    train_uses : int
        Utterances each training recording is used in (dev and test
        recordings are used once).
    silence : tuple of float
        Range of the silences (seconds) around the recordings.
    level : float
        RMS each recording is scaled to.
    utterances_per_chapter : int
        Utterances per chapter folder.
    sample_rate : int
        The recordings' rate (others are excluded).
    seed : int
        Seed of the split and the stitching.
    keywords : list of str, optional
        Keyword folders to use (default: every folder).
    max_files_per_keyword : int, optional
        Only the first files (sorted by name) of each keyword (quick
        runs and tests).

    Returns
    -------
    dict
        ``utterances`` (split -> count), ``recordings`` (split -> count),
        ``excluded`` (reason -> count).
    """
    options = {k: v for k, v in locals().items() if k not in ("save_folder",)}
    options["data_folder"] = os.path.abspath(data_folder)
    options["silence"] = list(silence)
    done = os.path.join(save_folder, OPTIONS_FILE)
    if os.path.isfile(done):
        with open(done) as f:
            previous = json.load(f)
        if previous.get("options") == options:
            logger.info(f"{save_folder}: stitched keywords already there")
            return previous["summary"]
    keywords = sorted(
        d
        for d in os.listdir(data_folder)
        if os.path.isdir(os.path.join(data_folder, d))
        and (keywords is None or d in keywords)
    )
    if not keywords:
        raise FileNotFoundError(f"no keyword folders in {data_folder}")
    report = ExclusionReport("keyword recordings")
    by_split = {split: [] for split in SPLITS}
    fractions = {"test": test_fraction, "dev": dev_fraction}
    for k, keyword in enumerate(keywords):
        folder = os.path.join(data_folder, keyword)
        readable = []
        names = sorted(
            n for n in os.listdir(folder) if n.endswith((".flac", ".wav"))
        )
        for name in names[:max_files_per_keyword]:
            path = os.path.join(folder, name)
            if report.add(check_audio(path, sample_rate, decode=True)):
                readable.append(path)
        for split, files in split_by_file(
            readable, fractions, seed + k
        ).items():
            by_split[split].extend((f, keyword_words(keyword)) for f in files)
    os.makedirs(save_folder, exist_ok=True)
    report.log(logger)
    report.write(os.path.join(save_folder, "excluded_recordings.txt"))
    summary = {"utterances": {}, "recordings": {}}
    for s, split in enumerate(SPLITS):
        items = by_split[split]
        uses = train_uses if split == "train" else 1
        groups = stitch_groups(
            items, uses, min_keywords, max_keywords, seed + 100 + s
        )
        rng = random.Random(seed + 200 + s)
        _write_split(
            os.path.join(save_folder, split),
            groups,
            rng,
            sample_rate,
            silence,
            level,
            utterances_per_chapter,
        )
        summary["utterances"][split] = len(groups)
        summary["recordings"][split] = len(items)
    summary["excluded"] = dict(report.counts)
    with open(done, "w") as f:
        json.dump({"options": options, "summary": summary}, f, indent=2)
    logger.info(f"stitched keywords in {save_folder}: {summary}")
    return summary


def _write_split(folder, groups, rng, sample_rate, silence, level, per_chapter):
    """Writes one split's utterances and transcripts (speaker 1), and
    ``sources.tsv`` (utterance id, then its recordings)."""
    os.makedirs(folder, exist_ok=True)
    lines = {}
    sources = []
    for i, group in enumerate(groups):
        chapter = i // per_chapter
        utt_id = f"1-{chapter}-{i:05d}"
        chapter_dir = os.path.join(folder, "1", str(chapter))
        os.makedirs(chapter_dir, exist_ok=True)
        audio, text = _stitch(
            [path for path, _ in group],
            [words for _, words in group],
            rng,
            sample_rate,
            silence,
            level,
        )
        sf.write(
            os.path.join(chapter_dir, f"{utt_id}.flac"),
            audio,
            sample_rate,
            subtype="PCM_16",
        )
        lines.setdefault(chapter_dir, []).append(f"{utt_id} {text}")
        sources.append("\t".join([utt_id] + [path for path, _ in group]))
    for chapter_dir, chapter_lines in lines.items():
        chapter = os.path.basename(chapter_dir)
        trans = os.path.join(chapter_dir, f"1-{chapter}.trans.txt")
        with open(trans, "w", encoding="utf-8") as f:
            f.write("\n".join(chapter_lines) + "\n")
    with open(os.path.join(folder, "sources.tsv"), "w") as f:
        f.write("\n".join(sources) + "\n")


if __name__ == "__main__":
    from summary_ssl.dataio.prepare_cli import run_preparation_cli

    run_preparation_cli(prepare_stitched_keywords, __doc__)
