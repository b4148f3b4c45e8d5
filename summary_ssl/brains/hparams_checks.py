"""Checks a pretraining YAML's values before anything expensive starts.

The checks are split by what they cover: :func:`check_shared_hparams`
(data and optimisation, every objective), :func:`check_wav2vec2_hparams`
and :func:`check_teacher_student_hparams`. :func:`checks_for` gives the
ones of a Brain class and :func:`check_hparams` runs them, raising one
ValueError that lists every bad value. A check looks only at the keys
that are present; that the keys a Brain reads are there is the Brain's
own check (``PretrainingBrain.required_hparams``), and misspelt keys are
:mod:`summary_ssl.brains.hparams_keys`'s.

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
    errors = _Errors(hparams)
    need = errors.need
    need(
        "precision",
        lambda v: v in PRECISIONS,
        "{!r} is not one of " + str(PRECISIONS),
    )
    need(
        "max_batch_length",
        lambda v: _is_number(v) and v > 0,
        "must be > 0 seconds, got {}",
    )
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
    # Both objectives contrast against negatives.
    for key in (
        "grad_accumulation_factor",
        "number_of_epochs",
        "num_negatives",
    ):
        need(
            key,
            lambda v: _is_int(v) and v >= 1,
            "must be an integer >= 1, got {!r}",
        )
    need(
        "optimizer_step_limit",
        lambda v: v is None or (_is_int(v) and v >= 1),
        "must be null or an integer >= 1, got {!r}",
    )
    need("lr", lambda v: _is_number(v) and v > 0, "must be > 0, got {}")
    need(
        "attention_type",
        lambda v: v in ATTENTION_TYPES,
        "{!r} is not one of " + ", ".join(ATTENTION_TYPES),
    )
    if _is_int(hparams.get("d_model")) and _is_int(hparams.get("nhead")):
        if hparams["nhead"] < 1 or hparams["d_model"] % hparams["nhead"]:
            errors.append(
                f"nhead: {hparams['nhead']} must divide d_model "
                f"({hparams['d_model']})"
            )
    _check_data_source(errors)
    return list(errors)


def _check_data_source(errors):
    hparams, need = errors.hparams, errors.need
    need(
        "data_source",
        lambda v: v in DATA_SOURCES,
        "{!r} is not one of " + str(DATA_SOURCES),
    )
    source = hparams.get("data_source")
    if source == "shards" and not hparams.get("shard_folder"):
        errors.append(
            "shard_folder: data_source: shards needs the folder of "
            "shards.json (python -m summary_ssl.dataio.shards writes it)"
        )
    if source == "librilight":
        need(
            "librilight_subsets",
            lambda v: isinstance(v, (list, tuple)) and len(v) > 0,
            "must be a non-empty list such as [medium], got {!r}",
        )
        need(
            "target_len_sec",
            lambda v: _is_number(v) and v > 0,
            "must be > 0 seconds, got {!r}",
        )
    if source == "shards":
        for key in ("shuffle_buffer", "batch_buffer"):
            need(key, lambda v: _is_int(v) and v >= 1, "must be >= 1, got {!r}")


def check_wav2vec2_hparams(hparams):
    """wav2vec 2.0 settings: span masking and negatives (the utterance-level
    term checks its own, in
    :class:`~summary_ssl.lobes.objectives.utterance_contrast.UtteranceContrast`).

    Arguments
    ---------
    hparams : dict
        The loaded recipe YAML.

    Returns
    -------
    list of str
        One message per bad value.

    Example
    -------
    >>> check_wav2vec2_hparams(dict(mask_prob=0.65, mask_length=0))
    ['mask_length: must be an integer >= 1, got 0']
    """
    errors = _Errors(hparams)
    need = errors.need
    need(
        "mask_prob",
        lambda v: _is_number(v) and 0 < v < 1,
        "must be in (0, 1), got {}",
    )
    need(
        "mask_length",
        lambda v: _is_int(v) and v >= 1,
        "must be an integer >= 1, got {!r}",
    )
    return list(errors)


def check_teacher_student_hparams(hparams):
    """Teacher-student (S3LSpeech) settings: temperature, perturbations,
    EMA, the two encoder stages.

    Arguments
    ---------
    hparams : dict
        The loaded recipe YAML.

    Returns
    -------
    list of str
        One message per bad value.

    Example
    -------
    >>> check_teacher_student_hparams(dict(noise_prob=1.5, logit_temp=0.5))
    ['noise_prob: must be in [0, 1], got 1.5']
    """
    errors = _Errors(hparams)
    need = errors.need
    need("logit_temp", lambda v: _is_number(v) and v > 0, "must be > 0, got {}")
    for key in ("noise_prob", "ema_decay_start", "ema_decay_end"):
        need(
            key,
            lambda v: _is_number(v) and 0 <= v <= 1,
            "must be in [0, 1], got {}",
        )
    need(
        "time_mask_ratio",
        lambda v: _is_number(v) and 0 <= v < 1,
        "must be in [0, 1), got {}",
    )
    first = hparams.get("first_stage_layers")
    total = hparams.get("num_encoder_layers")
    if _is_int(first) and _is_int(total) and not 0 <= first <= total:
        errors.append(
            f"first_stage_layers: {first} must be between 0 and "
            f"num_encoder_layers ({total})"
        )
    return list(errors)


def check_distillation_hparams(hparams):
    """Distillation settings: the student's depth, the teacher layers,
    lambda.

    Arguments
    ---------
    hparams : dict
        The loaded recipe YAML.

    Returns
    -------
    list of str
        One message per bad value.

    Example
    -------
    >>> check_distillation_hparams(dict(student_layers=0, teacher_layers=[4]))
    ['student_layers: must be an integer >= 1, got 0']
    """
    errors = _Errors(hparams)
    errors.need(
        "student_layers",
        lambda v: _is_int(v) and v >= 1,
        "must be an integer >= 1, got {!r}",
    )
    errors.need(
        "teacher_layers",
        lambda v: (
            isinstance(v, (list, tuple))
            and len(v) > 0
            and all(_is_int(i) and i >= 1 for i in v)
        ),
        "must be a non-empty list of teacher layers (1 = after its first "
        "layer), got {!r}",
    )
    errors.need(
        "distillation_cos_weight",
        lambda v: _is_number(v) and v >= 0,
        "must be >= 0, got {}",
    )
    return list(errors)


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
