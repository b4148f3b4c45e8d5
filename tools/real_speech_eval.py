"""Frozen features on real recordings: keyword accuracy and speaker EER.

The quick check behind the real-speech tables of the pretraining READMEs
(issue 9, item 3; issue 11, item 5). It reads the shared real recordings
in place (``real_speech/``: ``wake_words/<keyword>/*.flac`` and
``librispeech_excerpts/librispeech_test-other/<speaker>/*.flac``) and,
for each layer of a frozen encoder (or for filterbanks), reports:

* **keywords** (6 classes): a logistic regression (L-BFGS, L2 1e-3) on
  mean+std pooled features, standardised with the training statistics.
  Each keyword's files are sorted by name and split 70 / 30 in contiguous
  blocks; 100 training files per keyword (``kw100``) and 60 test files,
  evenly spaced in each block. ``kw10``: 10 labelled files per keyword,
  the mean of 5 random draws. The 70 % blocks are also what
  ``--train-folder`` links for pretraining, so the probe's test files are
  never pretrained on.
* **speakers**: the equal error rate (%) of cosine scores between
  mean-pooled features, standardised over the set, on all 4,950 pairs of
  the 10 x 10 test-other utterances (no speaker training).

Usage::

    # the pretraining folders: /tmp/rs/train (train-clean-100 excerpts +
    # 70 % of each keyword) and /tmp/rs/valid (18 keyword files)
    python tools/real_speech_eval.py --train-folder /tmp/rs
    python tools/real_speech_eval.py fbank
    python tools/real_speech_eval.py <exported_encoder>
    python tools/real_speech_eval.py <exported_encoder> --random-init

Unreadable files (the corpus has 14 on purpose) are dropped from the
keyword lists and counted. Appends one JSON line per run to ``--jsonl``.

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import glob
import json
import os
import time

import numpy as np
import torch
from speechbrain.utils.metric_stats import EER

from summary_ssl.dataio.audio_checks import load_audio
from summary_ssl.probes.features import FbankFeatures
from summary_ssl.probes.tasks import KEYWORDS, SPEAKERS_TEST, SPEAKERS_TRAIN

DEFAULT_ROOT = os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "real_speech"
)
TRAIN_SHARE = 0.7
BLOCKS_FILE = "keyword_blocks.json"  # see keyword_blocks


def _order(path):
    # The order the measured runs split by (numbers, then names as whole
    # strings); labelled_folder.natural_key orders the UUID-named keywords
    # differently, which would move files between train and test.
    stem = os.path.basename(path).rsplit(".", 1)[0]
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def keyword_blocks(root):
    """{keyword: (train block, test block)} of sorted file lists.

    A subset of the corpus (``tools/make_gpu_carry.py``) records the full
    corpus's blocks in ``BLOCKS_FILE``: its files keep their side."""
    folder = os.path.join(root, KEYWORDS)
    recorded = os.path.join(root, BLOCKS_FILE)
    if os.path.isfile(recorded):
        with open(recorded, encoding="utf-8") as f:
            return {
                kw: tuple(
                    [os.path.join(folder, kw, name) for name in side[part]]
                    for part in ("train", "test")
                )
                for kw, side in json.load(f).items()
            }
    blocks = {}
    for kw in sorted(os.listdir(folder)):
        files = sorted(
            glob.glob(os.path.join(folder, kw, "*.flac")), key=_order
        )
        if files:
            cut = int(TRAIN_SHARE * len(files))
            blocks[kw] = (files[:cut], files[cut:])
    return blocks


def _spread(files, n):
    """``n`` of ``files``, evenly spaced, each at most once.

    Raises ValueError when ``n`` is more than ``len(files)`` (evenly
    spaced indices would repeat files)."""
    if n > len(files):
        raise ValueError(f"asked for {n} files of a list of {len(files)}")
    return [files[i] for i in np.linspace(0, len(files) - 1, n).astype(int)]


def keyword_files(root, n_train=100, n_test=60):
    """(train, test) lists of (file, label index).

    Raises ValueError when a keyword's train or test block holds fewer
    files than asked (a smaller folder without ``BLOCKS_FILE``): the
    probe never trains or tests on a file twice."""
    train, test = [], []
    for label, (kw, (tr, te)) in enumerate(keyword_blocks(root).items()):
        for side, block, n in (("train", tr, n_train), ("test", te, n_test)):
            if n > len(block):
                raise ValueError(
                    f"keyword {kw!r}: {n} {side} files asked, but its "
                    f"{side} block in {root} holds {len(block)}"
                )
        train += [(f, label) for f in _spread(tr, n_train)]
        test += [(f, label) for f in _spread(te, n_test)]
    return train, test


def speaker_files(root):
    """(file, speaker) of the 10 x 10 test-other excerpts."""
    pattern = os.path.join(root, SPEAKERS_TEST, "*", "*.flac")
    return [
        (f, os.path.basename(os.path.dirname(f)))
        for f in sorted(glob.glob(pattern))
    ]


def link_train_folder(root, folder):
    """Links the pretraining audio under ``folder/train`` (the
    train-clean-100 excerpts and the 70 % training block of each keyword,
    never its test block) and ``folder/valid`` (3 files of each training
    block, taken out of ``train``)."""
    ls100 = os.path.join(root, SPEAKERS_TRAIN)
    os.makedirs(os.path.join(folder, "train"))
    os.symlink(os.path.abspath(ls100), os.path.join(folder, "train", "ls100"))
    for kw, (block, _) in keyword_blocks(root).items():
        held = set(_spread(block, 5)[1:4])
        for split, files in (
            ("train", [f for f in block if f not in held]),
            ("valid", sorted(held, key=_order)),
        ):
            os.makedirs(os.path.join(folder, split, f"kw_{kw}"), exist_ok=True)
            for f in files:
                os.symlink(
                    os.path.abspath(f),
                    os.path.join(
                        folder, split, f"kw_{kw}", os.path.basename(f)
                    ),
                )


def readable(items):
    """Drops unreadable files; returns (kept, number dropped)."""
    kept = []
    for f, label in items:
        try:
            load_audio(f)
        except Exception:  # counted below; any decoding failure
            continue
        kept.append((f, label))
    return kept, len(items) - len(kept)


@torch.no_grad()
def pooled(extractor, files, batch=8):
    """(L, N, 2D): mean and std over each utterance's real frames."""
    out = []
    for i in range(0, len(files), batch):
        wavs = [load_audio(f) for f in files[i : i + batch]]
        n = max(len(w) for w in wavs)
        x = torch.zeros(len(wavs), n)
        for j, w in enumerate(wavs):
            x[j, : len(w)] = w
        lens = torch.tensor([len(w) / n for w in wavs])
        hidden, frame_lens = extractor(x, lens)  # (L, B, T, D)
        T = hidden.shape[2]
        real = torch.arange(T)[None] < torch.round(frame_lens * T)[:, None]
        m = real.float()[None, :, :, None]
        count = m.sum(2).clamp_min(1)
        mean = (hidden * m).sum(2) / count
        var = ((hidden - mean[:, :, None]) ** 2 * m).sum(2) / count
        out.append(torch.cat([mean, var.clamp_min(1e-8).sqrt()], -1))
    return torch.cat(out, 1)


def logreg(x_train, y_train, x_test, y_test, iters=300, l2=1e-3):
    """Test accuracy (%) of an L2 logistic regression (L-BFGS)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-5
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    lin = torch.nn.Linear(x_train.shape[1], int(y_train.max()) + 1)
    opt = torch.optim.LBFGS(
        lin.parameters(), max_iter=iters, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(x_train), y_train)
        loss = loss + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return 100 * (lin(x_test).argmax(1) == y_test).float().mean().item()


def equal_error_rate(scores, same):
    """EER (%) of scores where ``same`` marks target pairs (SpeechBrain's
    ``EER``, as the verification probe uses).

    Example
    -------
    >>> equal_error_rate(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0]))
    0.0
    """
    scores = torch.as_tensor(scores, dtype=torch.float64)
    same = torch.as_tensor(same, dtype=torch.bool)
    eer, _ = EER(scores[same], scores[~same])
    return float(100 * eer)


def speaker_eer(x, speakers):
    """Cosine EER (%) over all pairs of standardised features (N, D)."""
    x = (x - x.mean(0)) / (x.std(0) + 1e-5)
    x = torch.nn.functional.normalize(x, dim=1)
    scores = (x @ x.t()).numpy()
    iu = np.triu_indices(len(speakers), 1)
    spk = np.array(speakers)
    return equal_error_rate(scores[iu], spk[iu[0]] == spk[iu[1]])


def evaluate(extractor, root, n_train=100, n_test=60):
    """Per-layer rows: kw100, kw10 (mean of 5 draws), SV EER (``kw100``
    trains on ``n_train`` files per keyword; fewer only for smoke runs)."""
    train, test = keyword_files(root, n_train, n_test)
    (train, bad_train), (test, bad_test) = readable(train), readable(test)
    sv = speaker_files(root)
    f_train = pooled(extractor, [f for f, _ in train])
    f_test = pooled(extractor, [f for f, _ in test])
    f_sv = pooled(extractor, [f for f, _ in sv])
    y_train = torch.tensor([y for _, y in train])
    y_test = torch.tensor([y for _, y in test])
    dim = f_sv.shape[-1] // 2
    rows = []
    for layer in range(f_train.shape[0]):
        few = []
        for seed in range(5):
            g = np.random.RandomState(seed)
            idx = np.concatenate(
                [
                    g.choice(
                        np.where(y_train.numpy() == c)[0], 10, replace=False
                    )
                    for c in range(int(y_train.max()) + 1)
                ]
            )
            few.append(
                logreg(f_train[layer][idx], y_train[idx], f_test[layer], y_test)
            )
        rows.append(
            {
                "layer": layer,
                "kw100": round(
                    logreg(f_train[layer], y_train, f_test[layer], y_test), 1
                ),
                "kw10": round(float(np.mean(few)), 1),
                "sv_eer": round(
                    speaker_eer(f_sv[layer, :, :dim], [s for _, s in sv]), 1
                ),
            }
        )
    return rows, {"unreadable_train": bad_train, "unreadable_test": bad_test}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", help="fbank or an exported encoder")
    parser.add_argument("--random-init", action="store_true")
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument(
        "--train-folder",
        help="link the pretraining folders (train, valid) here",
    )
    parser.add_argument("--jsonl", default="real_speech_eval.jsonl")
    args = parser.parse_args()
    if not os.path.isdir(args.root):
        parser.error(f"no real_speech folder at {args.root} (--root)")
    if args.train_folder:
        link_train_folder(args.root, args.train_folder)
        print(f"linked the pretraining audio under {args.train_folder}")
        if not args.what:
            return
    if not args.what:
        parser.error("say what to evaluate: fbank or an exported encoder")
    torch.manual_seed(0)
    if args.what == "fbank":
        extractor, name = FbankFeatures(80), "fbank"
    else:
        from summary_ssl.pretrained import FrozenSSLEncoder

        extractor = FrozenSSLEncoder(args.what, random_init=args.random_init)
        name = ("random-init " if args.random_init else "") + args.what
    start = time.time()
    rows, counts = evaluate(extractor, args.root)
    print(f"{name} ({counts})")
    print("| layer | kw100 % | kw10 % | SV EER % |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['layer']} | {r['kw100']} | {r['kw10']} | {r['sv_eer']} |")
    record = dict(
        name=name, rows=rows, secs=round(time.time() - start), **counts
    )
    with open(args.jsonl, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
