"""Settings that catch typos: a misspelt key is an error, not a default.

A recipe YAML is loaded by :func:`load_recipe_hparams`, which refuses,
before anything is built or trained:

* a command-line (or overlay) override of a key that the YAML does not
  declare, with the closest keys as a suggestion (HyperPyYAML's own error
  lists every key of the file);
* a top-level key that no code reads, that the YAML does not use
  (``!ref <key>``), and that is close to a known setting: most likely a
  misspelling of it, which would otherwise be silently ignored (the
  recipe would train with the right key's value);

then runs the value checks of the Brain's objective
(:mod:`summary_ssl.brains.hparams_checks`). The known settings are the
keys that code reads (:data:`CODE_KEYS`, the Brain's ``required_hparams``
and SpeechBrain's run options) and the YAML's own keys that it uses
through ``!ref``; no other file is read, so an installed package checks
a user's YAML as the checkout does. A key of one's own
(a helper referred to with ``!ref <key>``, or a name unlike any setting)
stays allowed.

Authors
-------
* summary_ssl contributors 2026
"""

import difflib
import os
import re

from hyperpyyaml import load_hyperpyyaml
from speechbrain.core import RunOptions

from summary_ssl.brains.hparams_checks import check_hparams, checks_for

# Keys the code reads from a pretraining YAML: summary_ssl.brains.recipe
# (data, batching, export) and W2V2Brain; PretrainingBrain and
# TeacherStudentBrain name theirs in ``required_hparams``.
CODE_KEYS = frozenset(
    """
    output_folder data_source data_folder train_splits dev_splits
    train_data_folder valid_data_folder librilight_subsets target_len_sec
    shard_folder shuffle_buffer batch_buffer seed skip_prep decode_check
    resample sample_rate min_duration max_duration num_workers
    max_batch_length num_buckets modules optimizer checkpointer
    epoch_counter encoder_to_export export_folder
    mask_prob mask_length min_masks compile_backend
    """.split()
)

TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_]\w*)\s*:", re.MULTILINE)
REFERENCE = re.compile(r"<([A-Za-z_]\w*)")
SIMILARITY = 0.8  # difflib ratio from which an unused key is a typo


def top_level_keys(text):
    """The top-level keys of a YAML text (in order, without repeats).

    Example
    -------
    >>> top_level_keys("lr: 1  # rate\\nmodel: !new:a.B\\n  size: 3\\n")
    ['lr', 'model']
    """
    return list(dict.fromkeys(TOP_LEVEL_KEY.findall(text)))


def known_keys(brain_class):
    """The settings that code reads: :data:`CODE_KEYS`, the Brain's
    ``required_hparams`` and SpeechBrain's run options.

    Example
    -------
    >>> from summary_ssl.brains.teacher_student import TeacherStudentBrain
    >>> keys = known_keys(TeacherStudentBrain)
    >>> all(k in keys for k in ("seed", "random_shift", "nonfinite_patience"))
    True
    """
    keys = CODE_KEYS | set(RunOptions().as_dict())
    return frozenset(keys | set(brain_class.required_hparams))


def did_you_mean(key, candidates, cutoff=SIMILARITY, prefix=""):
    """``"; did you mean X?"`` for the closest candidate (case aside), or
    ``""``.

    Example
    -------
    >>> did_you_mean("mask_prb", ["mask_prob", "mask_length"])
    '; did you mean mask_prob?'
    >>> did_you_mean("JSON", ["json", "plot"], prefix="--")
    '; did you mean --json?'
    >>> did_you_mean("my_helper", ["mask_prob"])
    ''
    """
    by_lower = {c.lower(): c for c in sorted(candidates)}
    close = difflib.get_close_matches(key.lower(), by_lower, 1, cutoff)
    return f"; did you mean {prefix}{by_lower[close[0]]}?" if close else ""


def override_errors(declared, overridden, yaml_name="the YAML", extra=()):
    """Messages for the overrides of keys the YAML does not declare.

    Arguments
    ---------
    declared : collection of str
        The YAML's top-level keys (see :func:`top_level_keys`).
    overridden : iterable of str
        The keys of the overrides (command line, overlay).
    yaml_name : str
        How the messages name the YAML.
    extra : iterable of str
        Other names to suggest (e.g. a tool's own options).

    Returns
    -------
    list of str

    Example
    -------
    >>> override_errors(["lr", "mask_prob"], ["mask_prb", "lr"])
    ['--mask_prb: the YAML has no such key; did you mean --mask_prob?']
    """
    return [
        f"--{key}: {yaml_name} has no such key"
        + did_you_mean(key, [*declared, *extra], cutoff=0.7, prefix="--")
        for key in overridden
        if key not in declared
    ]


def unused_key_errors(hparams, yaml_text, known):
    """Messages for the loaded keys that look like misspelt settings:
    neither known nor referred to (``<key>``) in ``yaml_text``, and close
    to a known key.

    Arguments
    ---------
    hparams : dict
        The loaded YAML.
    yaml_text : str
        The YAML text and its overrides (where ``<key>`` references are).
    known : collection of str
        The known settings.

    Returns
    -------
    list of str

    Example
    -------
    >>> text = "lr: 1\\nmy_lr: 2\\nlrate: !ref <my_lr>\\nmask_prb: 0.5\\n"
    >>> hparams = dict(lr=1, my_lr=2, lrate=2, mask_prb=0.5)
    >>> unused_key_errors(hparams, text, {"lr", "mask_prob"})
    ['mask_prb: no code reads it and the YAML does not use it; did you \
mean mask_prob?']
    """
    used = set(REFERENCE.findall(yaml_text))
    errors = []
    for key in hparams:
        if key.startswith("_") or key in known or key in used:
            continue
        suggestion = did_you_mean(key, known)
        if suggestion:
            errors.append(
                f"{key}: no code reads it and the YAML does not use it"
                + suggestion
            )
    return errors


def load_recipe_hparams(hparams_file, overrides, brain_class):
    """Loads a recipe YAML with its overrides, refusing misspelt keys
    (see the module docstring) and bad values (the checks of
    ``brain_class``'s objective), before anything is trained.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    overrides : str
        Overrides (YAML text).
    brain_class : type
        The recipe's :class:`~summary_ssl.brains.pretraining.PretrainingBrain`.

    Returns
    -------
    dict
        The loaded hyperparameters.

    Raises
    ------
    ValueError
        Listing every misspelt key, or every bad value.
    """
    with open(hparams_file, encoding="utf-8") as fin:
        text = fin.read()
    name = os.path.basename(hparams_file)
    errors = override_errors(
        top_level_keys(text), top_level_keys(overrides or ""), name
    )
    if not errors:
        hparams = load_hyperpyyaml(text, overrides)
        text = f"{text}\n{overrides}"
        # The YAML's own keys that it uses are settings too: a near copy of
        # one (d_modle beside d_model) is a typo.
        used = set(REFERENCE.findall(text)) & set(hparams)
        known = known_keys(brain_class) | used
        errors = unused_key_errors(hparams, text, known)
    if errors:
        raise ValueError(
            f"Unknown settings in {hparams_file} or its overrides (a typo?)"
            ":\n  - " + "\n  - ".join(errors)
        )
    check_hparams(hparams, checks_for(brain_class))
    return hparams
