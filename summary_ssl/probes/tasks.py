"""The MP3S task registry: one entry per task, read by every consumer.

Each :class:`Task` says where its recipe and data are, how its results
are shown, what ``--protocol fast`` changes in each of its probe YAMLs
(:mod:`summary_ssl.probes.protocols` applies it) and what differs from
MP3S; :data:`PUBLISHED` holds the published numbers of the tasks. To add
a task: an entry in :data:`TASKS` (or :data:`REAL_TASKS`) and a recipe
folder ``recipes/MP3S/<dataset>/<task>/``.

:data:`PUBLISHED` rows (sources in :data:`SOURCES`, values copied from
them, see ``FACTS.md`` of the project) are comparable with a run only
under ``--protocol mp3s``, for the same task and probe (and, for IEMOCAP,
the same fold).

Authors
-------
* summary_ssl contributors 2026
"""

import dataclasses
import math
from collections import namedtuple
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TaskSpec:
    """How one task's results are shown.

    Arguments
    ---------
    name : str
        Column title, e.g. ``LibriSpeech ASR``.
    metrics : tuple of (str, str)
        (metric key in ``metrics.json``, unit) pairs; the first is the
        main one. The unit may be empty.
    lower_is_better : bool
        Direction of the main metric.
    """

    name: str
    metrics: tuple
    lower_is_better: bool = False

    def header(self):
        """Column header, e.g. ``LibriSpeech ASR: WER (%) / CER (%) ↓``.

        Example
        -------
        >>> TaskSpec("SV", (("EER", "%"), ("minDCF", ""))).header()
        'SV: EER (%) / minDCF ↑'
        """
        names = [f"{m} ({u})" if u else m for m, u in self.metrics]
        arrow = "↓" if self.lower_is_better else "↑"
        return f"{self.name}: {' / '.join(names)} {arrow}"

    def cell(self, metrics):
        """Formats a run's metrics (None: the run failed or was skipped).

        Example
        -------
        >>> spec = TaskSpec("ASR", (("WER", "%"), ("CER", "%")), True)
        >>> spec.cell({"WER": 12.345, "CER": 4.0}), spec.cell(None)
        ('12.35 / 4.00', '—')
        """
        if metrics is None:
            return "—"
        values = []
        for key, unit in self.metrics:
            value = metrics.get(key)
            if value is None or not math.isfinite(value):
                values.append("n/a")
            elif unit == "%":
                values.append(f"{value:.2f}")
            else:
                values.append(f"{value:.4f}")
        return " / ".join(values)


@dataclass(frozen=True)
class Task:
    """One task of the benchmark.

    Arguments
    ---------
    recipe : str
        Its recipe folder, ``<dataset>/<task>`` under ``recipes/MP3S``.
    data : str
        Its data folder under ``--data_root`` (or ``--real_speech``).
    probes : tuple of str
        Its probe YAML names; the first is the default.
    spec : TaskSpec
        How its results are shown.
    args : tuple of str
        Extra ``train.py`` arguments.
    fast : dict
        Probe YAML name -> the values ``--protocol fast`` sets in it.
    deviations : tuple of str
        What differs from MP3S under ``--protocol mp3s``, beyond
        :data:`COMMON_DEVIATIONS`.
    fast_notes : tuple of str
        What ``--protocol fast`` changes beyond its values.
    """

    recipe: str
    data: str
    probes: tuple
    spec: TaskSpec
    args: tuple = ()
    fast: dict = field(default_factory=dict)
    deviations: tuple = ()
    fast_notes: tuple = ()


#: LibriSpeech test sets of MP3S's ASR task.
ASR_TEST_SPLITS = ("test-clean", "test-other")
#: Folders of the real-speech tasks under --real_speech.
KEYWORDS = "wake_words"
SPEAKERS_TEST = "librispeech_excerpts/librispeech_test-other"
SPEAKERS_TRAIN = "librispeech_excerpts/librispeech_train-clean-100"

#: What differs from MP3S under --protocol mp3s, for every task.
COMMON_DEVIATIONS = (
    "each layer is standardised per dimension (and, for the mean-pooling "
    "linear probes, whitened) with training-set statistics before the "
    "weighted sum (MP3S: raw layers; `--set standardize=null` for MP3S's "
    "exact input)",
    "the encoder is frozen, in eval mode and receives the real lengths "
    "(MP3S: `WeightedSSLModel` ignores `wav_lens`)",
)

_CLASSIFIER_FAST = {"batch_size": 16, "test_batch_size": 16}
_SPEAKER_FAST = {"batch_size": 32, "hidden_size": 256}
_SPEAKER_CROPS = {
    "crop_waveform": False,
    "train_segments": False,
    "number_of_epochs": 30,
}

#: The MP3S tasks, in the runner's column order.
TASKS = {
    "ASR": Task(
        "LibriSpeech/ASR",
        "LibriSpeech",
        ("bilstm_ctc", "linear_ctc"),
        TaskSpec(
            "LibriSpeech ASR",
            (("WER test-clean", "%"), ("WER test-other", "%")),
            True,
        ),
        fast={
            "bilstm_ctc": {
                "batch_size": 8,
                "test_batch_size": 8,
                "lr": 0.0005,
                "dropout": 0.15,
                "output_dropout": 0.15,
                "test_decoder": "greedy",
            },
            "linear_ctc": {
                "batch_size": 8,
                "test_batch_size": 8,
                "lr": 0.001,
                "output_dropout": 0.1,
                "test_decoder": "greedy",
            },
        },
        deviations=(
            "padding-exact BiLSTM (MP3S's LSTM reads the padded frames)",
            "characters from every split, no `<unk>`",
        ),
        fast_notes=("greedy CTC decoding (MP3S: beam search, beam 143)",),
    ),
    "IC": Task(
        "SLURP/IC",
        "SLURP",
        ("linear", "bilstm"),
        TaskSpec("SLURP IC", (("accuracy", "%"),)),
        fast={
            "linear": {
                **_CLASSIFIER_FAST,
                "lr": 0.01,
                "number_of_epochs": 40,
                # The probe must reach its single-layer reference where
                # the layers differ in quality (issue 22;
                # recipes/MP3S/README.md). Whitening with shrinkage 0.01
                # blows the near-empty directions of each layer up to 10x
                # and the unregularised head fits them: on few utterances
                # a fixed layer ended 5-10 points below its logistic
                # regression. 0.3 keeps them at most 1.8x (a ridge of
                # sorts). A zero head gives the layer weights no random
                # push at the start, and at 3e-2 they settle before the
                # head has fit the training set (at 2e-3 the
                # best-validation epoch still mixed the good layer with
                # the noise ones).
                "whiten_shrinkage": 0.3,
                "zero_init": True,
                "lr_weights": 0.03,
            },
            "bilstm": {
                **_CLASSIFIER_FAST,
                "lr": 0.0005,
                "hidden_size": 256,
                "dropout": 0.1,
            },
        },
    ),
    "ER": Task(
        "IEMOCAP/ER",
        "IEMOCAP",
        ("linear", "ecapa"),
        TaskSpec("IEMOCAP ER", (("accuracy", "%"),)),
        fast={
            "linear": {"batch_size": 8, "test_batch_size": 8, "lr": 0.001},
            "ecapa": {
                "batch_size": 8,
                "test_batch_size": 8,
                "lr": 0.001,
                "hidden_size": 256,
                "emb_dim": 128,
            },
        },
    ),
    "SV": Task(
        "VoxCeleb1/SV",
        "VoxCeleb1",
        ("xvector", "ecapa"),
        TaskSpec("VoxCeleb1 SV", (("EER", "%"), ("minDCF", "")), True),
        fast={
            "xvector": {
                **_SPEAKER_FAST,
                "last_channels": 768,
                "emb_dim": 256,
                "classifier": "cosine",
                **_SPEAKER_CROPS,
            },
            "ecapa": {**_SPEAKER_FAST, "emb_dim": 192, **_SPEAKER_CROPS},
        },
        deviations=(
            "utterances shorter than 3 s are kept (one whole item; MP3S "
            "drops them, and 3-s chunks whose mean amplitude is below 5e-4)",
            "validation: `dev_ratio` of each training speaker's utterances "
            "(MP3S: 10 % of all utterances at random)",
        ),
        fast_notes=(
            "the 3-s training crops are taken from the features of the "
            "whole utterance, so they can be cached (MP3S: from the "
            "waveform, before the encoder), one per utterance per epoch "
            "(MP3S: one per 3 s of audio)",
        ),
    ),
}

#: The tasks of --real_speech: the same recipes, real recordings.
REAL_TASKS = {
    "KWS": dataclasses.replace(
        TASKS["IC"],
        data=KEYWORDS,
        spec=TaskSpec("Keywords (real, 6 classes)", (("accuracy", "%"),)),
        args=("--data_source=labelled_folder",),
        deviations=(
            "not an MP3S task: real keyword recordings, with the settings "
            "of the SLURP probes",
        ),
    ),
    "SV": dataclasses.replace(
        TASKS["SV"],
        data=SPEAKERS_TEST,
        spec=TaskSpec(
            "LibriSpeech speakers SV (real, 4,950 trials)",
            (("EER", "%"), ("minDCF", "")),
            True,
        ),
        args=("--data_source=speaker_folder",),
    ),
}

#: Overrides of each recipe YAML under ``--protocol=fast``, by
#: ``<dataset>/<task>`` recipe folder and YAML name.
FAST = {task.recipe: task.fast for task in TASKS.values()}


#: Every task by key (the real-speech SV shares the MP3S SV's settings).
ALL_TASKS = {**REAL_TASKS, **TASKS}


MP3S_README = "MP3S README"
SUMMARYMIXING_SSL = "SummaryMixing SSL"
#: Source label -> full reference.
SOURCES = {
    MP3S_README: "speechbrain/benchmarks `benchmarks/MP3S/README.md`, "
    "results table (Zaiem et al., Interspeech 2023, arXiv 2306.00452)",
    SUMMARYMIXING_SSL: "Zhang et al., arXiv 2407.13377, as tabulated in "
    "SamsungLabs/SummaryMixing pull request #9 (README)",
}


#: One published number: where it comes from (a key of :data:`SOURCES`),
#: the SSL encoder, the task key, our probe YAML that matches the head
#: (None: none here does), the head as the source names it, the metric
#: and its unit, and the number as the source prints it.
Published = namedtuple(
    "Published", "source encoder task probe head metric value"
)


def _mp3s(task, probe, head, metric, base, large):
    return [
        Published(MP3S_README, "data2vec Base (93.8M)", task, probe, head,
                  metric, base),
        Published(MP3S_README, "data2vec Large (314.3M)", task, probe, head,
                  metric, large),
    ]  # fmt: skip


#: The published numbers, in the order ``results.md`` lists them.
PUBLISHED = (
    _mp3s("ASR", "bilstm_ctc", "BiLSTM", "WER (%)", "5.30", "3.10")
    + _mp3s("ASR", None, "ContextNet (the README says Conformer)",
            "WER (%)", "5.85", "3.43")
    + _mp3s("SV", "xvector", "X-vector", "EER (%)", "5.43", "4.89")
    + _mp3s("SV", "ecapa", "ECAPA-TDNN", "EER (%)", "3.75", "2.67")
    + _mp3s("ER", "linear", "time-pool + linear", "accuracy (%)", "63.0",
            "64.1")
    + _mp3s("ER", "ecapa", "ECAPA-TDNN", "accuracy (%)", "72", "71.3")
    + _mp3s("IC", "linear", "time-pool + linear", "scenario accuracy (%)",
            "56.9", "69.8")
    + _mp3s("IC", "bilstm", "BiLSTM + linear", "scenario accuracy (%)",
            "73.4", "79.9")
    + [
        Published(SUMMARYMIXING_SSL, encoder, "IC", "bilstm",
                  "BiLSTM + linear", "scenario accuracy (%)", value)
        for encoder, value in (
            ("SummaryMixing w2v2 (155M, Libri-Light 4.3k h)", "80.5"),
            ("MHSA w2v2 (166M, Libri-Light 4.3k h)", "78.1"),
            ("wav2vec 2.0 Base (95M, LibriSpeech 960 h)", "77.7"),
            ("wav2vec 2.0 Large (317M, Libri-Light 60k h)", "79.0"),
        )
    ]
)  # fmt: skip
