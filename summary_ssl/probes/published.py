"""Published MP3S numbers, printed beside a benchmark run's results.

Two sources (values copied from them, see ``FACTS.md`` of the project):

* the MP3S README (speechbrain/benchmarks, ``benchmarks/MP3S/README.md``;
  Zaiem et al., Interspeech 2023, arXiv 2306.00452): data2vec Base and
  Large with both probes of each task;
* the SummaryMixing SSL paper (Zhang et al., arXiv 2407.13377; the table
  of SamsungLabs/SummaryMixing pull request #9): SLURP scenario accuracy
  with MP3S's BiLSTM + linear head.

A row is comparable with a run only under ``--protocol mp3s``, for the same
task and probe (and, for IEMOCAP, the same fold).

Authors
-------
* summary_ssl contributors 2026
"""

from dataclasses import dataclass

MP3S_README = "MP3S README"
SUMMARYMIXING_SSL = "SummaryMixing SSL"
#: Source label -> full reference.
SOURCES = {
    MP3S_README: "speechbrain/benchmarks `benchmarks/MP3S/README.md`, "
    "results table (Zaiem et al., Interspeech 2023, arXiv 2306.00452)",
    SUMMARYMIXING_SSL: "Zhang et al., arXiv 2407.13377, as tabulated in "
    "SamsungLabs/SummaryMixing pull request #9 (README)",
}


@dataclass(frozen=True)
class Published:
    """One published number.

    Arguments
    ---------
    source : str
        Where it comes from.
    encoder : str
        The SSL encoder (size, pretraining data).
    task : str
        Task key of ``run_benchmark.py`` (``ASR``, ``IC``, ``ER``, ``SV``).
    probe : str or None
        Our probe YAML that matches the published head (None: no probe
        here matches it).
    head : str
        The head as the source names it.
    metric : str
        Metric and unit.
    value : str
        The number, as printed by the source.
    """

    source: str
    encoder: str
    task: str
    probe: str
    head: str
    metric: str
    value: str


def _mp3s(task, probe, head, metric, base, large):
    return [
        Published(MP3S_README, "data2vec Base (93.8M)", task, probe, head,
                  metric, base),
        Published(MP3S_README, "data2vec Large (314.3M)", task, probe, head,
                  metric, large),
    ]  # fmt: skip


PUBLISHED = (
    _mp3s("ASR", "bilstm_ctc", "BiLSTM", "WER (%)", "5.30", "3.10")
    + _mp3s(
        "ASR",
        None,
        "ContextNet (the README says Conformer)",
        "WER (%)",
        "5.85",
        "3.43",
    )
    + _mp3s("SV", "xvector", "X-vector", "EER (%)", "5.43", "4.89")
    + _mp3s("SV", "ecapa", "ECAPA-TDNN", "EER (%)", "3.75", "2.67")
    + _mp3s(
        "ER", "linear", "time-pool + linear", "accuracy (%)", "63.0", "64.1"
    )
    + _mp3s("ER", "ecapa", "ECAPA-TDNN", "accuracy (%)", "72", "71.3")
    + _mp3s(
        "IC",
        "linear",
        "time-pool + linear",
        "scenario accuracy (%)",
        "56.9",
        "69.8",
    )
    + _mp3s(
        "IC",
        "bilstm",
        "BiLSTM + linear",
        "scenario accuracy (%)",
        "73.4",
        "79.9",
    )
    + [
        Published(
            SUMMARYMIXING_SSL,
            encoder,
            "IC",
            "bilstm",
            "BiLSTM + linear",
            "scenario accuracy (%)",
            value,
        )
        for encoder, value in (
            ("SummaryMixing w2v2 (155M, Libri-Light 4.3k h)", "80.5"),
            ("MHSA w2v2 (166M, Libri-Light 4.3k h)", "78.1"),
            ("wav2vec 2.0 Base (95M, LibriSpeech 960 h)", "77.7"),
            ("wav2vec 2.0 Large (317M, Libri-Light 60k h)", "79.0"),
        )
    ]  # fmt: skip
)


def published_block(protocol, tasks=None, probes=None):
    """The "published" section of ``results.md``.

    Arguments
    ---------
    protocol : str
        The run's protocol (the rows are comparable only under ``mp3s``).
    tasks : sequence of str, optional
        Only these tasks (default: all).
    probes : dict, optional
        Task -> the run's probe, to mark the rows of the same probe.

    Returns
    -------
    str
        Markdown.

    Example
    -------
    >>> text = published_block("fast", tasks=["IC"])
    >>> "80.5" in text and "none of these rows" in text
    True
    >>> "No published MP3S number" in published_block("fast", tasks=["KWS"])
    True
    """
    tasks = list(tasks) if tasks is not None else None
    rows = [p for p in PUBLISHED if tasks is None or p.task in tasks]
    title = "## Published numbers (comparable only under `--protocol mp3s`)"
    if not rows:
        return (
            f"{title}\n\nNo published MP3S number exists for the tasks of "
            "this run. The published ones (MP3S README, SummaryMixing SSL "
            "paper) are for LibriSpeech ASR, SLURP scenarios, IEMOCAP and "
            "VoxCeleb1.\n"
        )
    if protocol == "mp3s":
        note = (
            "This run used `--protocol mp3s`: a row is comparable with the "
            "`ssl` row of the same task when the probe matches (column "
            "*this run's probe*) and the run made no other deviation (see "
            "the notes above)."
        )
    else:
        note = (
            f"This run used `--protocol {protocol}`: none of these rows is "
            "comparable with it. Each is comparable only with a "
            "`--protocol mp3s` run of the same task and probe."
        )
    lines = [
        title,
        "",
        note,
        "",
        "| source | encoder | task | head (our probe) | metric | value |"
        " this run's probe |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in rows:
        ours = p.probe or "none here"
        same = ""
        if probes and p.probe and probes.get(p.task) == p.probe:
            same = "yes" if protocol == "mp3s" else "yes (but not mp3s)"
        lines.append(
            f"| {p.source} | {p.encoder} | {p.task} | {p.head} ({ours}) | "
            f"{p.metric} | {p.value} | {same} |"
        )
    sources = sorted({p.source for p in rows})
    lines += [""] + [f"- {name}: {SOURCES[name]}." for name in sources]
    return "\n".join(lines).rstrip() + "\n"
