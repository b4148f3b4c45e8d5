"""A synthetic toy corpus in the real on-disk layouts of four datasets.

:func:`make_toy_corpus` speaks template texts with espeak-ng voices and
writes LibriSpeech, SLURP, IEMOCAP and VoxCeleb1 stand-ins under one root,
each in its real folder layout and annotation format (see
:mod:`tools.toy.layouts`), plus ``manifest.json`` (every file,
with its length in samples, text, speaker and labels) and a ``README.md``.

Every choice comes from a :class:`random.Random` seeded from ``seed`` (one
stream per dataset) and espeak-ng is deterministic, so a seed always gives
the same corpus, byte for byte, on one espeak-ng version.

The committed copy lives in ``tests/samples/toy_corpus``
(:data:`TOY_CORPUS_DIR`); ``tools/make_toy_corpus.py`` is the command line.

Example
-------
>>> manifest = load_manifest()
>>> sorted({e["dataset"] for e in manifest["audio"]})
['IEMOCAP', 'LibriSpeech', 'SLURP', 'VoxCeleb1']

Authors
 * summary_ssl contributors 2026
"""

import argparse
import json
import logging
import os
import random
import shlex
from collections import Counter
from dataclasses import dataclass, field, replace

from tqdm import tqdm

from tools.toy import TOY_CORPUS
from tools.toy.espeak import espeak_available, espeak_version
from tools.toy.layouts import (
    write_iemocap,
    write_librispeech,
    write_slurp,
    write_voxceleb,
)
from tools.toy.recorder import Recorder
from tools.toy.specs import (
    IemocapSpec,
    LibriSpeechSpec,
    SlurpSpec,
    VoxCelebSpec,
)

logger = logging.getLogger(__name__)

#: Where the committed toy corpus lives.
TOY_CORPUS_DIR = str(TOY_CORPUS)
DEFAULT_SEED = 1234
#: Low-pass cutoff of the resampler: espeak-ng has little energy above it,
#: and cutting there keeps the committed FLAC files small.
DEFAULT_BANDWIDTH = 6000
MANIFEST = "manifest.json"
_WRITERS = {
    "LibriSpeech": write_librispeech,
    "SLURP": write_slurp,
    "IEMOCAP": write_iemocap,
    "VoxCeleb1": write_voxceleb,
}


@dataclass
class ToyCorpusConfig:
    """Everything that decides the corpus.

    Arguments
    ---------
    seed : int
        Seed of every random choice.
    sample_rate : int
        Output sample rate.
    bandwidth : float
        Low-pass cutoff (Hz) of the 22.05 to 16 kHz resampler.
    librispeech, slurp, iemocap, voxceleb : spec
        Per-dataset counts (see :mod:`tools.toy.specs`).
    """

    seed: int = DEFAULT_SEED
    sample_rate: int = 16000
    bandwidth: float = DEFAULT_BANDWIDTH
    librispeech: LibriSpeechSpec = field(default_factory=LibriSpeechSpec)
    slurp: SlurpSpec = field(default_factory=SlurpSpec)
    iemocap: IemocapSpec = field(default_factory=IemocapSpec)
    voxceleb: VoxCelebSpec = field(default_factory=VoxCelebSpec)

    def scaled(self, factor):
        """Returns a copy with about ``factor`` times the audio."""
        if factor == 1:
            return self
        return replace(
            self,
            librispeech=self.librispeech.scaled(factor),
            slurp=self.slurp.scaled(factor),
            iemocap=self.iemocap.scaled(factor),
            voxceleb=self.voxceleb.scaled(factor),
        )

    def estimated_seconds(self):
        """Returns a rough estimate of the total audio duration."""
        total = 0.0
        for spec in (self.librispeech, self.slurp, self.iemocap, self.voxceleb):
            total += spec.utterances() * sum(spec.seconds) / 2
        return total


def scale_for_hours(hours, config=None):
    """Returns the scale factor that gives about ``hours`` of audio.

    Arguments
    ---------
    hours : float
        Wanted total duration.
    config : ToyCorpusConfig, optional
        The base configuration (the default one if None).

    Returns
    -------
    float
        A factor for :meth:`ToyCorpusConfig.scaled` (at least 1).

    Example
    -------
    >>> scale_for_hours(1.0) > 5
    True
    """
    config = config or ToyCorpusConfig()
    return max(1.0, hours * 3600 / config.estimated_seconds())


def make_toy_corpus(root, config=None, command=None, progress=True):
    """Generates the toy corpus under ``root``.

    Arguments
    ---------
    root : str
        Output folder; the datasets' folders and ``manifest.json`` go there.
        Existing files with the same names are overwritten.
    config : ToyCorpusConfig, optional
        Counts, seed and audio settings; the default gives the committed
        corpus.
    command : str, optional
        The command line to record in the manifest and README.
    progress : bool
        Whether to show a tqdm progress bar.

    Returns
    -------
    dict
        The manifest (also written to ``<root>/manifest.json``).
    """
    if not espeak_available():
        raise RuntimeError(
            "espeak-ng is not on PATH (apt-get install espeak-ng)"
        )
    config = config or ToyCorpusConfig()
    os.makedirs(root, exist_ok=True)
    specs = {
        "LibriSpeech": config.librispeech,
        "SLURP": config.slurp,
        "IEMOCAP": config.iemocap,
        "VoxCeleb1": config.voxceleb,
    }
    total = int(sum(spec.utterances() for spec in specs.values()))
    with tqdm(total=total, disable=not progress, unit="utt") as bar:
        rec = Recorder(
            root, config.sample_rate, config.bandwidth, lambda: bar.update(1)
        )
        for name, write in _WRITERS.items():
            # One stream per dataset: changing one's counts leaves the rest.
            write(rec, random.Random(f"{config.seed}-{name}"), specs[name])
    manifest = {
        "description": "summary_ssl synthetic toy corpus (espeak-ng speech)",
        "command": command or default_command(root, config.seed),
        "seed": config.seed,
        "sample_rate": config.sample_rate,
        "bandwidth_hz": config.bandwidth,
        "espeak_ng_version": espeak_version(),
        "summary": summarize(rec.audio, config.sample_rate),
        "annotations": rec.annotations,
        "audio": rec.audio,
    }
    _write_manifest(os.path.join(root, MANIFEST), manifest)
    _write_readme(os.path.join(root, "README.md"), manifest)
    logger.info(
        "wrote %d audio files (%.1f min) to %s",
        len(rec.audio),
        manifest["summary"]["total_minutes"],
        root,
    )
    return manifest


def default_command(root, seed, scale=None):
    """Returns the tools/make_toy_corpus.py command line for the options."""
    cmd = ["python", "tools/make_toy_corpus.py", "--out", root]
    cmd += ["--seed", str(seed)]
    if scale is not None and scale != 1:
        cmd += ["--scale", f"{scale:g}"]
    return shlex.join(cmd)


def summarize(audio, sample_rate=16000):
    """Counts files, speakers and minutes per dataset and split.

    Arguments
    ---------
    audio : list of dict
        Manifest audio entries.
    sample_rate : int
        Their sample rate.

    Returns
    -------
    dict
        ``datasets`` -> dataset -> split -> ``files``, ``speakers``,
        ``minutes``; plus ``labels`` counts and ``total_minutes``.

    Example
    -------
    >>> entry = {"dataset": "D", "split": "s", "speaker": "a",
    ...          "num_samples": 32000, "labels": {"emotion": "neu"}}
    >>> summarize([entry])["datasets"]["D"]["s"]["files"]
    1
    """
    datasets, labels = {}, {}
    for e in audio:
        split = datasets.setdefault(e["dataset"], {}).setdefault(
            e["split"], {"files": 0, "speakers": set(), "seconds": 0.0}
        )
        split["files"] += 1
        split["speakers"].add(e["speaker"])
        split["seconds"] += e["num_samples"] / sample_rate
        for key, value in e["labels"].items():
            if key in ("intent", "emotion"):
                labels.setdefault(e["dataset"], Counter())[value] += 1
    total = 0.0
    for splits in datasets.values():
        for s in splits.values():
            total += s["seconds"]
            s["speakers"] = len(s["speakers"])
            s["minutes"] = round(s.pop("seconds") / 60, 2)
    return {
        "datasets": datasets,
        "labels": {k: dict(sorted(v.items())) for k, v in labels.items()},
        "total_minutes": round(total / 60, 2),
    }


def load_manifest(root=TOY_CORPUS_DIR):
    """Returns the manifest of a toy corpus (the committed one by default).

    Arguments
    ---------
    root : str
        The corpus root.

    Returns
    -------
    dict
        The parsed ``manifest.json``.
    """
    with open(os.path.join(root, MANIFEST), encoding="utf-8") as fin:
        return json.load(fin)


def _write_manifest(path, manifest):
    """Writes JSON with one file entry per line (compact, diff-friendly)."""
    head = {
        k: v for k, v in manifest.items() if k not in ("audio", "annotations")
    }
    parts = [json.dumps(head, indent=1)[:-2]]
    for key in ("annotations", "audio"):
        rows = ",\n  ".join(
            json.dumps(e, sort_keys=True) for e in manifest[key]
        )
        parts.append(f',\n "{key}": [\n  {rows}\n ]')
    with open(path, "w", encoding="utf-8", newline="\n") as fout:
        fout.write("".join(parts) + "\n}\n")


_README = """# summary_ssl toy corpus

A tiny synthetic speech corpus laid out exactly like four real datasets, so
that data preparation, recipes and tests run without downloading anything.
All speech is synthesized by espeak-ng (version {espeak}) from template
texts; nothing in it comes from a real recording or a real dataset.

Generated with (from the repository root):

    {command}

Seed {seed}; 16-bit mono at {sample_rate} Hz (espeak-ng's 22.05 kHz output
resampled with a {bandwidth} Hz low-pass polyphase filter); FLAC where the
real dataset uses FLAC (LibriSpeech, SLURP), WAV where it uses WAV (IEMOCAP,
VoxCeleb1). The same seed and espeak-ng version give identical files. To
keep the committed copy under 8 MB, the FLAC datasets are quiet (peaks
at -20 to -33 dBFS; models normalize their input) and band-limited, and
utterances are short (mostly 1.5-3.5 s).

## Contents ({minutes} minutes of audio)

| dataset | split | files | speakers | minutes |
|---|---|---|---|---|
{table}

Labels: {labels}

## Layouts

- `LibriSpeech/<split>/<spk>/<chapter>/<spk>-<chapter>-<utt4>.flac` with
  `<spk>-<chapter>.trans.txt` (upper case, apostrophes only).
- `SLURP/slurp/{{train,devel,test}}.jsonl` (SLURP's fields: `slurp_id`,
  `sentence`, `sentence_annotation`, `intent`, `action`, `tokens`,
  `scenario`, `recordings`, `entities`) and `SLURP/slurp_real/audio-*.flac`;
  a line may have several recordings (`-headset` and far-field, or a second
  speaker). The far-field files add two early reflections.
- `IEMOCAP/IEMOCAP_full_release/Session{{1..5}}/sentences/wav/<dialog>/`
  `<utt>.wav` with `dialog/EmoEvaluation/<dialog>.txt` (the release's
  block format) and `dialog/transcriptions/<dialog>.txt`. Each session
  has one female and one male voice; labels include `exc` (merged into
  `hap` by the preparation) and non-target labels (`fru`, `xxx`) that it
  must skip. Emotions are espeak-ng prosody (pitch, rate, pitch range) and
  loudness, and share one pool of texts.
- `VoxCeleb1/wav/id1xxxx/<youtube_id>/<nnnnn>.wav` and
  `VoxCeleb1/veri_test2.txt` (balanced target/non-target trials between
  test speakers, all in id10270-id10309).

`manifest.json` lists every file: annotation files with their SHA-256, and
audio files with their length in samples, text, speaker, labels, espeak-ng
voice and SHA-256.

A larger corpus (not committed) comes from the same tool with `--scale` or
`--hours`, e.g. `python tools/make_toy_corpus.py --out data/toy1h --hours 1`.
"""


def _write_readme(path, manifest):
    summary = manifest["summary"]
    rows = []
    for dataset, splits in summary["datasets"].items():
        for split, s in splits.items():
            rows.append(
                f"| {dataset} | {split} | {s['files']} | {s['speakers']} "
                f"| {s['minutes']:.2f} |"
            )
    labels = "; ".join(
        f"{d}: " + ", ".join(f"{k} {v}" for k, v in c.items())
        for d, c in summary["labels"].items()
    )
    text = _README.format(
        espeak=manifest["espeak_ng_version"],
        command=manifest["command"],
        seed=manifest["seed"],
        sample_rate=manifest["sample_rate"],
        bandwidth=manifest["bandwidth_hz"],
        minutes=f"{summary['total_minutes']:.1f}",
        table="\n".join(rows),
        labels=labels,
    )
    with open(path, "w", encoding="utf-8", newline="\n") as fout:
        fout.write(text)


def main(argv=None):
    """Command line of ``tools/make_toy_corpus.py``.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (``sys.argv[1:]`` if None).

    Returns
    -------
    dict
        The manifest of the generated corpus.
    """
    parser = argparse.ArgumentParser(
        description="Synthesize the toy corpus (LibriSpeech, SLURP, IEMOCAP "
        "and VoxCeleb1 layouts) with espeak-ng."
    )
    parser.add_argument("--out", required=True, help="corpus root folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the committed corpus's counts (about linear in audio)",
    )
    size.add_argument(
        "--hours", type=float, help="aim at this many hours of audio in total"
    )
    parser.add_argument(
        "--bandwidth",
        type=float,
        default=DEFAULT_BANDWIDTH,
        help="low-pass cutoff in Hz of the 22.05 to 16 kHz resampler",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = ToyCorpusConfig(seed=args.seed, bandwidth=args.bandwidth)
    scale = args.scale
    if args.hours is not None:
        scale = round(scale_for_hours(args.hours, config), 2)
    if scale < 1:
        parser.error("--scale must be at least 1")
    cmd = default_command(args.out, args.seed, scale)
    if args.bandwidth != DEFAULT_BANDWIDTH:
        cmd += f" --bandwidth {args.bandwidth:g}"
    return make_toy_corpus(
        args.out, config.scaled(scale), command=cmd, progress=not args.quiet
    )
