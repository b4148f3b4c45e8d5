"""Helpers shared by the data preparations: CSV writing and skipping.

A preparation writes its CSV files, then a small JSON file of the options
it ran with (``<save_folder>/<name>_opts.json``). :func:`skip` tells the
next call whether the same options already produced every output, in which
case it can return at once; the options file is written last, so an
interrupted run is redone.

Authors
 * summary_ssl contributors 2026
"""

import csv
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from summary_ssl.dataio.audio_checks import check_audio

logger = logging.getLogger(__name__)


def _normalize(options):
    """Returns the options as plain JSON types (tuples become lists)."""
    return json.loads(json.dumps(options, sort_keys=True, default=str))


def skip(save_folder, outputs, options, name):
    """Whether a preparation can be skipped.

    Arguments
    ---------
    save_folder : str
        Where the outputs and the options file are.
    outputs : list of str
        Output file names (relative to ``save_folder``).
    options : dict
        The options of this call.
    name : str
        The preparation's name (``prepare_librispeech``...).

    Returns
    -------
    bool
        True when every output exists and the options file records the
        same options.

    Example
    -------
    >>> folder = getfixture("tmp_path")
    >>> skip(folder, [], {"a": 1}, "prep")
    False
    >>> save_options(folder, {"a": 1}, "prep")
    >>> skip(folder, [], {"a": 1}, "prep"), skip(folder, [], {"a": 2}, "prep")
    (True, False)
    """
    opts_file = os.path.join(save_folder, f"{name}_opts.json")
    if not os.path.isfile(opts_file):
        return False
    if not all(os.path.isfile(os.path.join(save_folder, f)) for f in outputs):
        return False
    with open(opts_file, encoding="utf-8") as fin:
        try:
            saved = json.load(fin)
        except json.JSONDecodeError:
            return False
    return saved == _normalize(options)


def already_prepared(save_folder, outputs, options, name, what):
    """Creates ``save_folder`` and says whether the preparation ``name``
    can be skipped (see :func:`skip`), logging it when it can.

    Arguments
    ---------
    save_folder : str
        Where the outputs and the options file are.
    outputs : dict
        Output paths (their file names are checked).
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
    >>> already_prepared(folder, {"a": folder + "/a.csv"}, {}, "prep", "A")
    False
    """
    os.makedirs(save_folder, exist_ok=True)
    names = [os.path.basename(p) for p in outputs.values()]
    if skip(save_folder, names, options, name):
        logger.info("%s already prepared in %s", what, save_folder)
        return True
    return False


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
    >>> from summary_ssl.dataio.audio_checks import ExclusionReport
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
