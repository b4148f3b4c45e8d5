"""Checks a pretraining YAML's values before anything expensive starts.

The checks are split by what they cover: :func:`check_shared_hparams`
(data and optimisation, every objective), :func:`check_wav2vec2_hparams`
and :func:`check_teacher_student_hparams`. :func:`checks_for` gives the
ones of a Brain class and :func:`check_hparams` runs them, raising one
ValueError that lists every bad value. A check looks only at the keys
that are present; that the keys a Brain reads are there is the Brain's
own check (``PretrainingBrain.required_hparams``), and misspelt keys are
:mod:`summary_ssl.brains.hparams_keys`'s.

Every check is a function of the loaded recipe YAML (a dict) that
returns a list of messages, one per bad value (empty when all are good).
Each is written as a table of rules, run in order: ``(key, (test,
message))`` checks one value (``message`` is formatted with it), and a
function of the :class:`_Errors` checks several keys together.

Authors
-------
* summary_ssl contributors 2026
"""

from summary_ssl.lobes.encoders.mixers import ATTENTION_TYPES

PRECISIONS = ("fp32", "bf16", "fp16")
DATA_SOURCES = ("librispeech", "folder", "librilight", "shards")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(test):
    """The test of a number (not a bool) for which ``test`` holds."""
    return lambda v: _is_number(v) and test(v)


def _one_of(values, shown):
    """The rule of a value that must be in ``values`` (``shown``)."""
    return lambda v: v in values, "{!r} is not one of " + shown


def _is_count(value):
    return _is_int(value) and value >= 1


_is_positive = _number(lambda v: v > 0)

# Rules shared by several keys: (test of the value, message).
COUNT = (_is_count, "must be an integer >= 1, got {!r}")
POSITIVE = (_is_positive, "must be > 0, got {}")
FRACTION = (_number(lambda v: 0 <= v <= 1), "must be in [0, 1], got {}")


class _Errors(list):
    """The messages of one check, with ``need``: the test of one key."""

    def __init__(self, hparams):
        super().__init__()
        self.hparams = hparams

    def need(self, key, ok, message):
        """Adds ``key: message`` when ``key`` is present and ``ok`` of its
        value is false (``message`` is formatted with the value)."""
        if key in self.hparams and not ok(self.hparams[key]):
            self.append(f"{key}: {message.format(self.hparams[key])}")

    def apply(self, rules):
        """Runs a table of rules (see the module docstring), in order."""
        for rule in rules:
            if callable(rule):
                rule(self)
            else:
                key, (ok, message) = rule
                self.need(key, ok, message)
        return list(self)


def _batch_fits_longest(errors):
    hparams = errors.hparams
    if (
        _is_number(hparams.get("max_batch_length"))
        and _is_number(hparams.get("max_duration"))
        and hparams["max_batch_length"] < hparams["max_duration"]
    ):
        errors.append(
            f"max_batch_length: {hparams['max_batch_length']} s is shorter "
            f"than max_duration ({hparams['max_duration']} s): the longest "
            "utterances could not fit in a batch"
        )


def _nhead_divides_d_model(errors):
    hparams = errors.hparams
    if _is_int(hparams.get("d_model")) and _is_int(hparams.get("nhead")):
        if hparams["nhead"] < 1 or hparams["d_model"] % hparams["nhead"]:
            errors.append(
                f"nhead: {hparams['nhead']} must divide d_model "
                f"({hparams['d_model']})"
            )


def _check_data_source(errors):
    hparams = errors.hparams
    errors.need("data_source", *_one_of(DATA_SOURCES, str(DATA_SOURCES)))
    source = hparams.get("data_source")
    if source == "shards" and not hparams.get("shard_folder"):
        errors.append(
            "shard_folder: data_source: shards needs the folder of "
            "shards.json (python -m summary_ssl.dataio.shards writes it)"
        )
    if source == "librilight":
        errors.apply(LIBRILIGHT_RULES)
    if source == "shards":
        errors.apply(SHARDS_RULES)


LIBRILIGHT_RULES = (
    (
        "librilight_subsets",
        (
            lambda v: isinstance(v, (list, tuple)) and len(v) > 0,
            "must be a non-empty list such as [medium], got {!r}",
        ),
    ),
    ("target_len_sec", (_is_positive, "must be > 0 seconds, got {!r}")),
)
BUFFER = (_is_count, "must be >= 1, got {!r}")
SHARDS_RULES = (("shuffle_buffer", BUFFER), ("batch_buffer", BUFFER))

SHARED_RULES = (
    ("precision", _one_of(PRECISIONS, str(PRECISIONS))),
    ("max_batch_length", (_is_positive, "must be > 0 seconds, got {}")),
    _batch_fits_longest,
    ("grad_accumulation_factor", COUNT),
    ("number_of_epochs", COUNT),
    ("num_negatives", COUNT),  # both objectives contrast against negatives
    (
        "optimizer_step_limit",
        (
            lambda v: v is None or _is_count(v),
            "must be null or an integer >= 1, got {!r}",
        ),
    ),
    ("lr", POSITIVE),
    ("attention_type", _one_of(ATTENTION_TYPES, ", ".join(ATTENTION_TYPES))),
    _nhead_divides_d_model,
    _check_data_source,
)


def check_shared_hparams(hparams):
    """Data, optimisation and encoder settings, shared by every objective.

    Arguments
    ---------
    hparams : dict
        The loaded recipe YAML.

    Returns
    -------
    list of str
        One message per bad value (empty when all are good).

    Example
    -------
    >>> check_shared_hparams(dict(lr=5e-4, precision="bf16"))
    []
    >>> check_shared_hparams(dict(lr=0, data_source="shards"))
    ['lr: must be > 0, got 0', 'shard_folder: data_source: shards needs \
the folder of shards.json (python -m summary_ssl.dataio.shards writes it)']
    """
    return _Errors(hparams).apply(SHARED_RULES)


WAV2VEC2_RULES = (
    ("mask_prob", (_number(lambda v: 0 < v < 1), "must be in (0, 1), got {}")),
    ("mask_length", COUNT),
)


def check_wav2vec2_hparams(hparams):
    """wav2vec 2.0 settings: span masking and negatives (the utterance-level
    term checks its own, in
    :class:`~summary_ssl.lobes.objectives.utterance_contrast.UtteranceContrast`).
    Arguments and returns as :func:`check_shared_hparams`'s.

    Example
    -------
    >>> check_wav2vec2_hparams(dict(mask_prob=0.65, mask_length=0))
    ['mask_length: must be an integer >= 1, got 0']
    """
    return _Errors(hparams).apply(WAV2VEC2_RULES)


def _first_stage_fits(errors):
    first = errors.hparams.get("first_stage_layers")
    total = errors.hparams.get("num_encoder_layers")
    if _is_int(first) and _is_int(total) and not 0 <= first <= total:
        errors.append(
            f"first_stage_layers: {first} must be between 0 and "
            f"num_encoder_layers ({total})"
        )


TEACHER_STUDENT_RULES = (
    ("logit_temp", POSITIVE),
    ("noise_prob", FRACTION),
    ("ema_decay_start", FRACTION),
    ("ema_decay_end", FRACTION),
    (
        "time_mask_ratio",
        (_number(lambda v: 0 <= v < 1), "must be in [0, 1), got {}"),
    ),
    _first_stage_fits,
)


def check_teacher_student_hparams(hparams):
    """Teacher-student (S3LSpeech) settings: temperature, perturbations,
    EMA, the two encoder stages. Arguments and returns as
    :func:`check_shared_hparams`'s.

    Example
    -------
    >>> check_teacher_student_hparams(dict(noise_prob=1.5, logit_temp=0.5))
    ['noise_prob: must be in [0, 1], got 1.5']
    """
    return _Errors(hparams).apply(TEACHER_STUDENT_RULES)


DISTILLATION_RULES = (
    ("student_layers", COUNT),
    (
        "teacher_layers",
        (
            lambda v: (
                isinstance(v, (list, tuple))
                and len(v) > 0
                and all(_is_int(i) and i >= 1 for i in v)
            ),
            "must be a non-empty list of teacher layers (1 = after its "
            "first layer), got {!r}",
        ),
    ),
    (
        "distillation_cos_weight",
        (_number(lambda v: v >= 0), "must be >= 0, got {}"),
    ),
)


def check_distillation_hparams(hparams):
    """Distillation settings: the student's depth, the teacher layers,
    lambda. Arguments and returns as :func:`check_shared_hparams`'s.

    Example
    -------
    >>> check_distillation_hparams(dict(student_layers=0, teacher_layers=[4]))
    ['student_layers: must be an integer >= 1, got 0']
    """
    return _Errors(hparams).apply(DISTILLATION_RULES)


ALL_CHECKS = (
    check_shared_hparams,
    check_wav2vec2_hparams,
    check_teacher_student_hparams,
    check_distillation_hparams,
)


def checks_for(brain_class):
    """The checks of a Brain class's YAML: the shared ones, then those its
    objective names (``objective_checks``).

    Arguments
    ---------
    brain_class : type
        A :class:`~summary_ssl.brains.pretraining.PretrainingBrain`.

    Returns
    -------
    tuple of callable

    Example
    -------
    >>> from summary_ssl.brains.teacher_student import TeacherStudentBrain
    >>> [c.__name__ for c in checks_for(TeacherStudentBrain)]
    ['check_shared_hparams', 'check_teacher_student_hparams']
    """
    return (check_shared_hparams,) + tuple(brain_class.objective_checks)


def check_hparams(hparams, checks=ALL_CHECKS):
    """Runs ``checks``; raises one ValueError listing every bad value.

    Arguments
    ---------
    hparams : dict
        The loaded recipe YAML.
    checks : sequence of callable
        Functions of ``hparams`` returning a list of messages (default:
        every check).

    Raises
    ------
    ValueError
        When any check finds a bad value.

    Example
    -------
    >>> check_hparams(dict(lr=-1, precision="fp8", mask_length=0),
    ...               (check_shared_hparams,))
    Traceback (most recent call last):
    ...
    ValueError: Bad values in the hyperparameters:
      - precision: 'fp8' is not one of ('fp32', 'bf16', 'fp16')
      - lr: must be > 0, got -1
    """
    errors = [error for check in checks for error in check(hparams)]
    if errors:
        raise ValueError(
            "Bad values in the hyperparameters:\n  - " + "\n  - ".join(errors)
        )


def check_pretraining_hparams(hparams):
    """Every check, whatever the objective (the keys of the other
    objective are absent from a recipe YAML, so they are skipped).

    Arguments
    ---------
    hparams : dict
        The loaded recipe YAML.

    Example
    -------
    >>> good = dict(precision="bf16", max_batch_length=200, max_duration=20,
    ...             grad_accumulation_factor=4, number_of_epochs=10,
    ...             optimizer_step_limit=None, lr=5e-4, mask_prob=0.65,
    ...             mask_length=10, num_negatives=100, d_model=768, nhead=8,
    ...             attention_type="SummaryMixing", data_source="folder")
    >>> check_pretraining_hparams(good)
    >>> check_pretraining_hparams(dict(good, lr=-1, precision="fp8"))
    Traceback (most recent call last):
    ...
    ValueError: Bad values in the hyperparameters:
      - precision: 'fp8' is not one of ('fp32', 'bf16', 'fp16')
      - lr: must be > 0, got -1
    """
    check_hparams(hparams, ALL_CHECKS)
