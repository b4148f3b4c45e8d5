"""The skeleton every data preparation fills in, and its CSV helpers.

A preparation (``prepare_librispeech``...) names its CSV files
(:func:`csv_paths`) and the options that decide them, and hands
:func:`prepare_once` the one step of its own: a ``write()`` that walks its
layout and writes each CSV, usually through :func:`write_checked_csv`
(every audio file checked, exclusions counted, logged and listed in
``excluded_<csv stem>.txt``). :func:`prepare_once` skips that step when
the same options already produced every output
(:func:`already_prepared`), and otherwise writes a small JSON file of the
options after it (``<save_folder>/<name>_opts.json``): last, so an
interrupted run is redone.

The options that every preparation shares are documented here once (a
preparation's docstring names them and refers here; the audio checks are
collected by :func:`audio_checks` and passed on to :func:`checked_rows`):

Arguments
---------
sample_rate : int
    The expected sample rate; files at another rate are excluded (unless
    ``resample``).
min_duration, max_duration : float, optional
    Length filter in seconds (None: no limit).
resample : bool
    Keep the files at another rate, to be resampled on loading.
decode : bool
    Decode every file once, to exclude files corrupt after a valid
    header (False reads headers only).
workers : int
    Files checked at once.
skip_prep : bool
    Return the output paths at once, without checking anything (the
    outputs are ready).
progress : bool
    Show progress bars.

Authors
 * summary_ssl contributors 2026
"""

import csv
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from summary_ssl.dataio.audio_checks import ExclusionReport, check_audio

logger = logging.getLogger(__name__)


def _normalize(options):
    """Returns the options as plain JSON types (tuples become lists)."""
    return json.loads(json.dumps(options, sort_keys=True, default=str))


def already_prepared(save_folder, outputs, options, name, what):
    """Creates ``save_folder`` and says whether the preparation ``name``
    can be skipped: every output exists and the options file records the
    same options. Logs it when it can.

    Arguments
    ---------
    save_folder : str
        Where the outputs and the options file are.
    outputs : dict
        Output paths.
    options : dict
        The options of this call.
    name : str
        The preparation's name (``prepare_librispeech``...).
    what : str
        What the outputs are, for the log (``"SLURP CSV files"``).

    Returns
    -------
    bool

    Example
    -------
    >>> folder = str(getfixture("tmp_path"))
    >>> already_prepared(folder, {}, {"a": 1}, "prep", "A")
    False
    >>> save_options(folder, {"a": 1}, "prep")
    >>> already_prepared(folder, {}, {"a": 1}, "prep", "A")
    True
    >>> outputs = {"x": folder + "/x.csv"}  # missing
    >>> already_prepared(folder, outputs, {"a": 1}, "prep", "A")
    False
    >>> already_prepared(folder, {}, {"a": 2}, "prep", "A")
    False
    """
    os.makedirs(save_folder, exist_ok=True)
    opts_file = os.path.join(save_folder, f"{name}_opts.json")
    if not all(map(os.path.isfile, [opts_file, *outputs.values()])):
        return False
    with open(opts_file, encoding="utf-8") as fin:
        try:
            saved = json.load(fin)
        except json.JSONDecodeError:
            return False
    if saved != _normalize(options):
        return False
    logger.info("%s already prepared in %s", what, save_folder)
    return True


def prepare_once(save_folder, outputs, options, name, what, write):
    """Runs ``write()``, the preparation's own step that writes every
    output, unless :func:`already_prepared` (same arguments) says the same
    options already produced them; then saves the options.

    Returns
    -------
    dict
        ``outputs``.

    Example
    -------
    >>> folder = str(getfixture("tmp_path"))
    >>> outputs = {"a": folder + "/a.csv"}
    >>> write = lambda: write_csv(outputs["a"], [], ["ID"])
    >>> _ = prepare_once(folder, outputs, {"n": 1}, "prep", "A", write)
    >>> sorted(os.listdir(folder))
    ['a.csv', 'prep_opts.json']
    >>> prepare_once(folder, outputs, {"n": 1}, "prep", "A", None) == outputs
    True
    """
    if not already_prepared(save_folder, outputs, options, name, what):
        write()
        save_options(save_folder, options, name)
    return outputs


def audio_checks(sample_rate, min_duration, max_duration, resample, **more):
    """The audio checks of a preparation's arguments (see the module
    docstring), as keyword arguments of :func:`write_checked_csv`.

    Example
    -------
    >>> checks = audio_checks(16000, None, 5.0, False, decode=True)
    >>> sorted(checks.items())  # doctest: +NORMALIZE_WHITESPACE
    [('decode', True), ('max_duration', 5.0), ('min_duration', None),
     ('resample', False), ('sample_rate', 16000)]
    """
    return dict(
        sample_rate=sample_rate,
        min_duration=min_duration,
        max_duration=max_duration,
        resample=resample,
        **more,
    )


def csv_paths(save_folder, names):
    """Name -> ``<save_folder>/<name>.csv``; a nested name (the fine-tuning
    splits ``1h/0/clean``...) gives a flat file, ``1h_0_clean.csv``, so
    that every output and its ``excluded_<stem>.txt`` stay in
    ``save_folder``, one per name.

    Example
    -------
    >>> csv_paths("/out", ["train", "test"])
    {'train': '/out/train.csv', 'test': '/out/test.csv'}
    >>> csv_paths("/out", ["1h/0/clean", "1h/0/other/"])
    {'1h/0/clean': '/out/1h_0_clean.csv', '1h/0/other/': '/out/1h_0_other.csv'}
    """
    return {
        name: os.path.join(save_folder, f"{split_stem(name)}.csv")
        for name in names
    }


def split_stem(name):
    """A (possibly nested) split name as one file stem.

    Example
    -------
    >>> split_stem("1h/0/clean")
    '1h_0_clean'
    """
    return name.strip("/").replace("/", "_").replace(os.sep, "_")


def save_options(save_folder, options, name):
    """Writes ``<save_folder>/<name>_opts.json`` (call it last)."""
    path = os.path.join(save_folder, f"{name}_opts.json")
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(_normalize(options), fout, indent=1, sort_keys=True)


def write_csv(path, rows, fields):
    """Writes a SpeechBrain CSV file atomically.

    Arguments
    ---------
    path : str
        Output file.
    rows : list of dict
        One dict per row; ``duration`` (seconds) is written with 4
        decimals.
    fields : list of str
        Column names, starting with ``ID``.

    Example
    -------
    >>> import os
    >>> path = os.path.join(getfixture("tmp_path"), "x.csv")
    >>> write_csv(path, [{"ID": "a", "duration": 1.5, "wav": "/a.wav"}],
    ...           ["ID", "duration", "wav"])
    >>> print(open(path).read().strip())
    ID,duration,wav
    a,1.5000,/a.wav
    """
    if fields[0] != "ID":
        raise ValueError("the first column of a SpeechBrain CSV is ID")
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fout:
        writer = csv.DictWriter(fout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            row = dict(row)
            if "duration" in row:
                row["duration"] = f"{row['duration']:.4f}"
            writer.writerow(row)
    os.replace(tmp, path)
    logger.info("wrote %d rows to %s", len(rows), path)


def read_csv(path):
    """Reads a CSV file into a list of dicts (all values as strings).

    Example
    -------
    >>> import os
    >>> path = os.path.join(getfixture("tmp_path"), "x.csv")
    >>> write_csv(path, [{"ID": "a"}], ["ID"])
    >>> read_csv(path)
    [{'ID': 'a'}]
    """
    with open(path, newline="", encoding="utf-8") as fin:
        return list(csv.DictReader(fin))


def read_csv_header(path):
    """The column names of a CSV file (its first line).

    Example
    -------
    >>> import os
    >>> path = os.path.join(getfixture("tmp_path"), "x.csv")
    >>> write_csv(path, [], ["ID", "duration"])
    >>> read_csv_header(path)
    ['ID', 'duration']
    """
    with open(path, newline="", encoding="utf-8") as fin:
        return next(csv.reader(fin), [])


def checked_rows(
    items, report, desc=None, progress=True, workers=1, **check_options
):
    """Checks audio files and returns the CSV rows of the kept ones.

    Arguments
    ---------
    items : iterable of (str, dict)
        (audio path, row fields) pairs; the fields hold ``ID`` and the
        dataset's label columns.
    report : ExclusionReport
        Receives every check.
    desc : str, optional
        Progress bar label.
    progress : bool
        Whether to show a tqdm progress bar.
    workers : int
        Files checked at once (threads: soundfile decodes outside the
        GIL), which matters with ``decode=True``.
    **check_options
        Passed to :func:`~summary_ssl.dataio.audio_checks.check_audio`
        (``sample_rate``, ``min_duration``, ``max_duration``, ``resample``,
        ``decode``).

    Returns
    -------
    list of dict
        ``ID``, ``duration``, ``wav`` (absolute path) and the fields.

    Example
    -------
    >>> report = ExclusionReport("x")
    >>> checked_rows([("/no.wav", {"ID": "a"})], report, progress=False)
    []
    >>> dict(report.counts)
    {'missing': 1}
    """
    items = list(items)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        checks = pool.map(
            lambda item: check_audio(item[0], **check_options), items
        )
        checks = list(
            tqdm(
                checks,
                total=len(items),
                desc=desc,
                unit="file",
                disable=not progress,
            )
        )
    rows = []
    for (path, fields), check in zip(items, checks):
        if report.add(check):
            row = {"ID": fields["ID"], "duration": check.duration}
            row["wav"] = os.path.abspath(path)
            row.update(fields)
            rows.append(row)
    return rows


def format_counts(counts):
    """``"<value> <count>, ..."`` in the order of the values.

    Example
    -------
    >>> from collections import Counter
    >>> format_counts(Counter(["sad", "ang", "sad"]))
    'ang 1, sad 2'
    """
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def write_checked_csv(path, items, fields, source, desc=None, **checks):
    """Checks the audio of ``items``, writes the kept rows to ``path`` and
    the exclusions beside it (``excluded_<csv stem>.txt``).

    Arguments
    ---------
    path : str
        The CSV file.
    items : iterable of (str, dict)
        (audio path, row fields), as for :func:`checked_rows`.
    fields : list of str
        The CSV columns.
    source : str
        Names the exclusion report (``"LibriSpeech dev-clean"``).
    desc : str, optional
        Progress bar label (default: the CSV's stem).
    **checks
        The audio checks (see the module docstring).

    Returns
    -------
    list of dict
        The kept rows.

    Example
    -------
    >>> path = os.path.join(getfixture("tmp_path"), "x.csv")
    >>> write_checked_csv(path, [("/no.wav", {"ID": "a"})],
    ...                   ["ID", "duration", "wav"], "X", progress=False)
    []
    >>> sorted(os.listdir(os.path.dirname(path)))
    ['excluded_x.txt', 'x.csv']
    """
    if desc is None:
        desc = os.path.splitext(os.path.basename(path))[0]
    report = ExclusionReport(source)
    rows = checked_rows(items, report, desc=desc, **checks)
    write_csv(path, rows, fields)
    write_report(report, os.path.dirname(path), path)
    return rows


def require_rows(csv_path, source):
    """Raises a ValueError naming ``source`` when ``csv_path`` has no rows.

    The message gives the exclusion summary the preparation wrote beside
    the CSV (``excluded_<stem>.txt``), so an empty folder, or one where
    every file was excluded, stops a run before training with the reason.

    Arguments
    ---------
    csv_path : str
        A prepared CSV file.
    source : str
        Where its files came from (a folder, a split list), for the message.

    Returns
    -------
    int
        The number of rows.

    Example
    -------
    >>> import os
    >>> folder = getfixture("tmp_path")
    >>> path = os.path.join(folder, "train.csv")
    >>> write_csv(path, [], ["ID", "duration", "wav"])
    >>> require_rows(path, "/data/empty")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: No usable audio in /data/empty: ... (no audio files found)
    """
    rows = read_csv(csv_path)
    if rows:
        return len(rows)
    stem = os.path.splitext(os.path.basename(csv_path))[0]
    report = os.path.join(os.path.dirname(csv_path), f"excluded_{stem}.txt")
    reason = "no audio files found"
    if os.path.isfile(report):
        with open(report, encoding="utf-8") as fin:
            summary = fin.readline().lstrip("# ").strip()
        if "excluded" in summary:
            reason = f"{summary}; see {report}"
    raise ValueError(
        f"No usable audio in {source}: {csv_path} is empty ({reason})"
    )


def write_report(report, save_folder, csv_name):
    """Logs a report and writes ``<save_folder>/excluded_<csv stem>.txt``.

    Returns
    -------
    str
        The path of the written file.
    """
    report.log(logger)
    stem = os.path.splitext(os.path.basename(csv_name))[0]
    path = os.path.join(save_folder, f"excluded_{stem}.txt")
    report.write(path)
    return path
