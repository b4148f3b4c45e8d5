"""Checks a pretraining YAML before anything expensive starts.

Authors
-------
* summary_ssl contributors 2026
"""

from summary_ssl.lobes.mixers import ATTENTION_TYPES

PRECISIONS = ("fp32", "bf16", "fp16")
DATA_SOURCES = ("librispeech", "folder", "librilight", "shards")


def check_pretraining_hparams(hparams):
    """Raises one ValueError listing every bad value found.

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
    errors = []

    def need(key, ok, message):
        if key in hparams and not ok(hparams[key]):
            errors.append(f"{key}: {message.format(hparams[key])}")

    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    need(
        "precision",
        lambda v: v in PRECISIONS,
        "{!r} is not one of " + str(PRECISIONS),
    )
    need(
        "max_batch_length",
        lambda v: isinstance(v, (int, float)) and v > 0,
        "must be > 0 seconds, got {}",
    )
    if (
        isinstance(hparams.get("max_batch_length"), (int, float))
        and isinstance(hparams.get("max_duration"), (int, float))
        and hparams["max_batch_length"] < hparams["max_duration"]
    ):
        errors.append(
            f"max_batch_length: {hparams['max_batch_length']} s is shorter "
            f"than max_duration ({hparams['max_duration']} s): the longest "
            "utterances could not fit in a batch"
        )
    need(
        "grad_accumulation_factor",
        lambda v: is_int(v) and v >= 1,
        "must be an integer >= 1, got {!r}",
    )
    need(
        "number_of_epochs",
        lambda v: is_int(v) and v >= 1,
        "must be an integer >= 1, got {!r}",
    )
    need(
        "optimizer_step_limit",
        lambda v: v is None or (is_int(v) and v >= 1),
        "must be null or an integer >= 1, got {!r}",
    )
    need(
        "lr",
        lambda v: isinstance(v, (int, float)) and v > 0,
        "must be > 0, got {}",
    )
    layers = hparams.get("num_encoder_layers")
    need(
        "utterance_contrast_layer",
        lambda v: (
            v is None
            or (is_int(v) and 0 <= v and (not is_int(layers) or v <= layers))
        ),
        "must be null or a hidden-state index 0.." + str(layers) + ", got {!r}",
    )
    on_layer_0 = hparams.get("utterance_contrast_layer") == 0
    need(
        "utterance_bank_size",
        lambda v: v == 0 or (is_int(v) and v > 0 and on_layer_0),
        "must be a whole number >= 0, and > 0 only with "
        "utterance_contrast_layer: 0 (its keys are made from the front-end "
        "latents), got {!r}",
    )
    need(
        "mask_prob",
        lambda v: isinstance(v, (int, float)) and 0 < v < 1,
        "must be in (0, 1), got {}",
    )
    need(
        "mask_length",
        lambda v: is_int(v) and v >= 1,
        "must be an integer >= 1, got {!r}",
    )
    need(
        "num_negatives",
        lambda v: is_int(v) and v >= 1,
        "must be an integer >= 1, got {!r}",
    )
    need(
        "attention_type",
        lambda v: v in ATTENTION_TYPES,
        "{!r} is not one of " + ", ".join(ATTENTION_TYPES),
    )
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
            lambda v: isinstance(v, (int, float)) and v > 0,
            "must be > 0 seconds, got {!r}",
        )
    if source == "shards":
        for key in ("shuffle_buffer", "batch_buffer"):
            need(key, lambda v: is_int(v) and v >= 1, "must be >= 1, got {!r}")
    # Teacher-student (S3LSpeech) settings.
    need(
        "logit_temp",
        lambda v: isinstance(v, (int, float)) and v > 0,
        "must be > 0, got {}",
    )
    for key in ("noise_prob", "ema_decay_start", "ema_decay_end"):
        need(
            key,
            lambda v: isinstance(v, (int, float)) and 0 <= v <= 1,
            "must be in [0, 1], got {}",
        )
    need(
        "time_mask_ratio",
        lambda v: isinstance(v, (int, float)) and 0 <= v < 1,
        "must be in [0, 1), got {}",
    )
    if is_int(hparams.get("first_stage_layers")) and is_int(
        hparams.get("num_encoder_layers")
    ):
        first, total = (
            hparams["first_stage_layers"],
            hparams["num_encoder_layers"],
        )
        if not 0 <= first <= total:
            errors.append(
                f"first_stage_layers: {first} must be between 0 and "
                f"num_encoder_layers ({total})"
            )
    if is_int(hparams.get("d_model")) and is_int(hparams.get("nhead")):
        if hparams["nhead"] < 1 or hparams["d_model"] % hparams["nhead"]:
            errors.append(
                f"nhead: {hparams['nhead']} must divide d_model "
                f"({hparams['d_model']})"
            )
    if errors:
        raise ValueError(
            "Bad values in the hyperparameters:\n  - " + "\n  - ".join(errors)
        )
