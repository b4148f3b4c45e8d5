"""Libri-Light preparation: pieces cut by VAD, with no copy of the audio.

Reads ``<data_folder>/<subset>/<speaker>/<book>/<name>.flac`` and the
``<name>.json`` beside it, cuts each file by its ``voice_activity`` with
:func:`cut_by_vad` and writes a CSV ``ID,duration,wav,spans``: one row per
piece, ``spans`` in samples of the FLAC, which :func:`load_spans` reads.
Exclusions are counted (one item per piece, excluded file or dropped span)
and written to ``excluded_<csv stem>.txt``. Each finished book is appended
to ``<csv stem>_librilight_books.jsonl``, so a killed run resumes there.

Example
-------
>>> import json, numpy as np, soundfile as sf
>>> book = getfixture("tmp_path") / "ll" / "small" / "100" / "book"
>>> book.mkdir(parents=True)
>>> sf.write(book / "a.flac", np.zeros(48000, "int16"), 16000)
>>> _ = (book / "a.json").write_text(json.dumps(
...     {"voice_activity": [[0.0, 1.0], [1.5, 2.0], [2.5, 3.0]]}))
>>> csv = prepare_librilight(book.parents[2], book.parents[3] / "out",
...                          target_len_sec=1.2, progress=False, workers=1)
>>> print(open(csv).read().strip())  # doctest: +ELLIPSIS
ID,duration,wav,spans
100_book_a_0000,1.0000,/.../a.flac,0:16000
100_book_a_0001,1.0000,/.../a.flac,24000:32000 40000:48000

Authors
 * summary_ssl contributors 2026
"""

import glob
import json
import logging
import math
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

from summary_ssl.dataio.audio_checks import (
    EMPTY,
    MISSING,
    TOO_LONG,
    TOO_SHORT,
    UNREADABLE,
    WRONG_RATE,
    AudioCheck,
    ExclusionReport,
    require_path,
)
from summary_ssl.dataio.prepare_utils import (
    already_prepared,
    save_options,
    write_csv,
    write_report,
)

logger = logging.getLogger(__name__)

FIELDS = ["ID", "duration", "wav", "spans"]
#: A JSON file that does not parse, or with no valid ``voice_activity``.
MALFORMED = "malformed VAD"
#: A VAD span starting at or after the end of its FLAC file.
PAST_END = "span past the end"
#: Frames decoded at once with ``decode=True`` (one minute at 16 kHz).
BLOCK_FRAMES = 960000


def cut_by_vad(spans, target_len_sec):
    """Groups VAD spans into pieces of at most ``target_len_sec`` seconds.

    The rule of libri-light's ``cut_by_vad.py``: spans are taken in order
    and added to the current piece; a span that would make a non-empty
    piece longer than the target first closes it. Spans are never split
    (a longer span is a piece of its own) and the silences between spans
    are not part of a piece: its length is the sum of its span lengths.

    Arguments
    ---------
    spans : sequence of (float, float)
        Voiced spans, (start, end) in seconds.
    target_len_sec : float
        The longest piece made of several spans.

    Returns
    -------
    list of list of (float, float)
        The pieces, each a list of spans.

    Example
    -------
    >>> cut_by_vad([(0, 3), (4, 6), (7, 9), (10, 21), (22, 23)], 6)
    [[(0, 3), (4, 6)], [(7, 9)], [(10, 21)], [(22, 23)]]
    """
    pieces, piece, length = [], [], 0.0
    for start, end in spans:
        if piece and length + (end - start) > target_len_sec:
            pieces.append(piece)
            piece, length = [], 0.0
        piece.append((start, end))
        length += end - start
    if piece:
        pieces.append(piece)
    return pieces


def format_spans(spans):
    """Writes (start, stop) sample spans as ``"start:stop start:stop"``.

    Example
    -------
    >>> format_spans([(0, 16000), (24000, 32000)])
    '0:16000 24000:32000'
    """
    return " ".join(f"{int(start)}:{int(stop)}" for start, stop in spans)


def parse_spans(text):
    """Reads the ``spans`` column back (stops are exclusive).

    Example
    -------
    >>> parse_spans("0:16000 24000:32000")
    [(0, 16000), (24000, 32000)]
    """
    return [tuple(map(int, item.split(":"))) for item in text.split()]


def load_spans(path, spans, sample_rate=16000):
    """Reads only the given spans of an audio file, concatenated.

    Each span is read after a seek, so an hour-long FLAC is never decoded
    whole. Multi-channel files are averaged to mono (as
    :func:`~summary_ssl.dataio.audio_checks.load_audio` does).

    Arguments
    ---------
    path : str
        The audio file (the ``wav`` column).
    spans : str or sequence of (int, int)
        (start, stop) in samples, stop exclusive, or the ``spans`` column.
    sample_rate : int
        The file's expected sample rate (no resampling).

    Returns
    -------
    torch.Tensor
        Shape (samples,), float32 in [-1, 1].

    Raises
    ------
    RuntimeError
        When the file cannot be read, its rate is not ``sample_rate`` or a
        span reads fewer frames than asked.

    Example
    -------
    >>> import os
    >>> path = os.path.join(getfixture("tmp_path"), "a.flac")
    >>> sf.write(path, np.arange(100, dtype="int16"), 16000)
    >>> (load_spans(path, "10:12 50:51") * 32768).tolist()
    [10.0, 11.0, 50.0]
    >>> load_spans(path, [(90, 110)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
     ...
    RuntimeError: short read in /...a.flac: 10 of 20 frames at 90
    """
    if isinstance(spans, str):
        spans = parse_spans(spans)
    chunks = []
    try:
        with sf.SoundFile(path) as fin:
            if fin.samplerate != sample_rate:
                raise RuntimeError(
                    f"{path}: {fin.samplerate} Hz, expected {sample_rate} Hz"
                )
            for start, stop in spans:
                fin.seek(start)
                data = fin.read(stop - start, dtype="float32", always_2d=True)
                if len(data) < stop - start:
                    raise RuntimeError(
                        f"short read in {path}: {len(data)} of "
                        f"{stop - start} frames at {start}"
                    )
                chunks.append(data.mean(axis=1, dtype=np.float32))
    except sf.LibsndfileError as err:
        raise RuntimeError(f"cannot read {path}: {err}") from err
    return torch.from_numpy(np.concatenate(chunks or [np.zeros(0, "float32")]))


def prepare_librilight(
    data_folder,
    save_folder,
    subsets=("small",),
    csv_name="train.csv",
    target_len_sec=20.0,
    min_duration=None,
    max_duration=None,
    sample_rate=16000,
    skip_prep=False,
    decode=False,
    progress=True,
    workers=2,
):
    """Writes a CSV of the VAD pieces of Libri-Light subsets.

    Arguments
    ---------
    data_folder : str
        The folder holding the subset folders.
    save_folder : str
        Where the CSV, exclusion, options and journal files go.
    subsets : sequence of str
        Subset folder names (``small``, ``medium``, ``large`` or others).
    csv_name : str
        Name of the CSV file.
    target_len_sec : float
        Longest piece made of several VAD spans (:func:`cut_by_vad`).
    min_duration, max_duration : float, optional
        Length filter on pieces, in seconds; excluded pieces are counted.
    sample_rate : int
        Expected sample rate (files at another rate are excluded).
    decode : bool
        Decode every FLAC once, block by block, to exclude files corrupt
        after a valid header (False: headers only).
    workers : int
        Books prepared at once, in processes (1 or less: in this process).
    skip_prep, progress : bool
        Return at once (the CSV file is ready); show a progress bar over
        books.

    Returns
    -------
    str
        The CSV path.
    """
    output = os.path.join(save_folder, csv_name)
    if skip_prep:
        return output
    if isinstance(subsets, str):
        subsets = [subsets]
    stem = os.path.splitext(os.path.basename(csv_name))[0]
    name = f"prepare_librilight_{stem}"
    options = {
        "data_folder": os.path.abspath(data_folder),
        "subsets": list(subsets),
        "target_len_sec": target_len_sec,
        "min_duration": min_duration,
        "max_duration": max_duration,
        "sample_rate": sample_rate,
        "decode": decode,
    }
    # prepare_once's flow, unrolled: the options are saved before the
    # journal that resumes an interrupted run is removed.
    outputs = {"csv": output}
    if already_prepared(save_folder, outputs, options, name, "Libri-Light"):
        return output
    require_path(data_folder, "Libri-Light folder")
    books = _books(data_folder, subsets)
    journal = os.path.join(save_folder, f"{stem}_librilight_books.jsonl")
    done = _open_journal(journal, options)
    if done:
        logger.info("resuming: %d of %d books done", len(done), len(books))
    todo = [book for book in books if book[0] not in done]
    bar = tqdm(
        total=len(books), desc=csv_name, unit="book", disable=not progress
    )
    bar.update(len(books) - len(todo))
    with open(journal, "a", encoding="utf-8") as fout:
        for record in _run(todo, options, workers):
            fout.write(json.dumps(record) + "\n")
            fout.flush()
            done[record["book"]] = record
            bar.update(1)
    bar.close()
    report = ExclusionReport(csv_name)
    rows, files = [], 0
    for key, _ in books:
        record = done[key]
        files += record["files"]
        for row in record["rows"]:
            report.add(AudioCheck(row["wav"], duration=row["duration"]))
            rows.append(row)
        for reason, path, detail in record["excluded"]:
            report.exclude(path, reason, detail)
    rows.sort(key=lambda row: row["ID"])
    same = [a["ID"] for a, b in zip(rows, rows[1:]) if a["ID"] == b["ID"]]
    if same:  # IDs replace characters other than [A-Za-z0-9_-] with _
        raise ValueError(f"several pieces get the ID {same[0]}")
    write_csv(output, rows, FIELDS)
    write_report(report, save_folder, csv_name)
    save_options(save_folder, options, name)
    os.remove(journal)
    hours = sum(row["duration"] for row in rows) / 3600
    logger.info(
        "%s: %d books, %d files, %d pieces, %.2f h kept, %d exclusions",
        output, len(books), files, len(rows), hours, len(report.excluded),
    )  # fmt: skip
    return output


def _books(data_folder, subsets):
    """Returns sorted (key, folder) pairs, key ``<subset>/<spk>/<book>``."""
    books = []
    for subset in subsets:
        root = os.path.abspath(os.path.join(data_folder, subset))
        require_path(root, "Libri-Light subset folder")
        for folder in sorted(glob.glob(os.path.join(glob.escape(root), "*/*"))):
            if os.path.isdir(folder):
                speaker, book = folder.split(os.sep)[-2:]
                books.append((f"{subset}/{speaker}/{book}", folder))
    return books


def _open_journal(path, options):
    """Returns the finished books of a journal with the same options (and
    cuts off a truncated last line), or starts a fresh journal."""
    header = json.dumps({"options": options}, sort_keys=True, default=str)
    done, keep = {}, 0
    if os.path.isfile(path):
        with open(path, "rb") as fin:
            lines = fin.read().split(b"\n")[:-1]  # last: "" or truncated
        if lines and lines[0] == header.encode():
            keep = len(lines[0]) + 1
            for line in lines[1:]:
                try:  # ValueError: not JSON (a cut line), or not UTF-8
                    record = json.loads(line)
                    done[record["book"]] = record
                except (ValueError, KeyError, TypeError):
                    break
                keep += len(line) + 1
    if keep:
        os.truncate(path, keep)
    else:
        with open(path, "w", encoding="utf-8") as fout:
            fout.write(header + "\n")
    return done


def _run(todo, options, workers):
    """Yields the record of each book as it is finished."""
    if workers <= 1:
        for key, folder in todo:
            yield _prepare_book(key, folder, options)
        return
    # forkserver: forking a process whose other threads (torch, a
    # progress bar, a process group) hold locks can deadlock the child.
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("forkserver")
    )
    try:
        jobs = [pool.submit(_prepare_book, *book, options) for book in todo]
        for job in as_completed(jobs):
            yield job.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _prepare_book(key, folder, options):
    """Cuts every file of one book; returns its journal record."""
    _, speaker, book = key.split("/")
    files = [f for f in os.listdir(folder) if f.endswith((".flac", ".json"))]
    names = sorted({os.path.splitext(f)[0] for f in files})
    record = {"book": key, "files": len(names), "rows": [], "excluded": []}
    for name in names:
        flac = os.path.join(folder, name + ".flac")
        utt_id = re.sub(r"[^A-Za-z0-9_-]", "_", f"{speaker}_{book}_{name}")
        rows, excluded = _prepare_file(flac, utt_id, options)
        record["rows"].extend(rows)
        record["excluded"].extend(excluded)
    return record


def _prepare_file(flac, utt_id, options):
    """Returns (rows, [(reason, path, detail), ...]) for one FLAC file."""
    rate = options["sample_rate"]
    vad, problem = _read_vad(flac[: -len(".flac")] + ".json")
    if problem is None:
        problem = _check_flac(flac, rate, options["decode"])
    if isinstance(problem, tuple):
        return [], [problem]
    frames, rows, excluded = problem, [], []
    lo, hi = options["min_duration"], options["max_duration"]
    for k, piece in enumerate(cut_by_vad(vad, options["target_len_sec"])):
        spans = []
        for start, end in piece:
            start, stop = round(start * rate), min(round(end * rate), frames)
            if start < stop:
                spans.append((start, stop))
            elif start >= frames:
                detail = f"{start}:{round(end * rate)} >= {frames} frames"
                excluded.append((PAST_END, flac, detail))
        if not spans:
            continue
        duration = sum(stop - start for start, stop in spans) / rate
        what = f"piece {k:04d}: {duration:.3f} s"
        if lo is not None and duration < lo:
            excluded.append((TOO_SHORT, flac, f"{what} < {lo} s"))
        elif hi is not None and duration > hi:
            excluded.append((TOO_LONG, flac, f"{what} > {hi} s"))
        else:
            row = dict(ID=f"{utt_id}_{k:04d}", duration=duration, wav=flac)
            rows.append(dict(row, spans=format_spans(spans)))
    return rows, excluded


def _read_vad(path):
    """Returns (spans, None), or (None, (reason, path, detail))."""
    if not os.path.isfile(path):
        return None, (MISSING, path, "no VAD JSON beside the FLAC")
    try:
        with open(path, encoding="utf-8") as fin:
            meta = json.load(fin)
    except (OSError, ValueError) as err:
        return None, (MALFORMED, path, str(err).partition("\n")[0])
    vad = meta.get("voice_activity") if isinstance(meta, dict) else None
    if not isinstance(vad, list):
        return None, (MALFORMED, path, "no voice_activity list")
    for span in vad:
        ok = isinstance(span, list) and len(span) == 2
        ok = ok and all(type(t) in (int, float) for t in span)  # not bool
        if not (ok and 0 <= span[0] <= span[1] < math.inf):
            return None, (MALFORMED, path, f"invalid span {span!r}"[:200])
    if not vad:
        return None, (EMPTY, path, "empty voice_activity")
    return [tuple(span) for span in vad], None


def _check_flac(path, sample_rate, decode):
    """Returns the number of frames, or (reason, path, detail)."""
    if not os.path.isfile(path):
        return MISSING, path, "VAD JSON without its FLAC"
    if os.path.getsize(path) == 0:
        return EMPTY, path, "0 bytes"
    try:
        with sf.SoundFile(path) as fin:
            frames, rate = fin.frames, fin.samplerate
            if rate != sample_rate:
                return WRONG_RATE, path, f"{rate} Hz, expected {sample_rate} Hz"
            if frames <= 0:
                return EMPTY, path, "0 samples"
            if decode:
                blocks = fin.blocks(BLOCK_FRAMES, dtype="int16")
                read = sum(len(block) for block in blocks)
                if read < frames:
                    return UNREADABLE, path, f"decoded {read} of {frames}"
    except (RuntimeError, OSError, ValueError) as err:
        return UNREADABLE, path, str(err).partition("\n")[0]
    return frames
