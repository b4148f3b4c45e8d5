"""The two probe protocols, ``mp3s`` (the default) and ``fast``, and the
loading of a probe YAML.

* ``mp3s``: the settings of SpeechBrain's MP3S benchmark
  (speechbrain/benchmarks, ``benchmarks/MP3S/*/hparams/ssl.yaml``). They
  are the values written in the recipes' YAML files, so a plain
  ``python train.py hparams/<probe>.yaml`` runs them, and the results can
  sit next to the published ones (:data:`summary_ssl.probes.tasks.
  PUBLISHED`).
* ``fast``: cheaper settings for small machines (larger batches, greedy
  CTC decoding, cacheable speaker crops, smaller heads). The tasks, splits
  and labels stay MP3S's; the numbers are not comparable with published
  ones. :data:`FAST` holds them, per recipe and probe (each task's
  ``fast`` in :mod:`summary_ssl.probes.tasks`).

Every ``train.py`` starts with :func:`start_experiment`, which loads its
YAML through :func:`load_hparams`: with
``--protocol=fast`` it applies :data:`FAST` over the YAML, the
command-line overrides over both, then :data:`PROBE_DEFAULTS` for the
keys the YAML leaves out. A misspelt key is refused with a suggestion
(:mod:`summary_ssl.brains.hparams_keys`).

:func:`deviations` lists what a run differs in from MP3S;
``run_benchmark.py`` prints it in ``results.md``.

Authors
-------
* summary_ssl contributors 2026
"""

import io
import os
import re

import ruamel.yaml
import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

from summary_ssl.brains.hparams_keys import (
    override_errors,
    top_level_keys,
    unused_key_errors,
)
from summary_ssl.probes.tasks import ALL_TASKS, COMMON_DEVIATIONS, FAST

PROTOCOLS = ("mp3s", "fast")

#: The one table of defaults of the probe recipes: the settings that a
#: probe Brain reads but not every recipe YAML declares, with their value
#: where a YAML leaves them out (:func:`load_hparams` adds them). Every
#: other setting is read from the YAML, without a default.
PROBE_DEFAULTS = {
    # the layer weights' own scheduler (VoxCeleb: none, their learning
    # rate stays) and the validation statistic its NewBob watches
    "lr_annealing_weights": None,
    "annealing_metric": "loss",
    # random waveform crops before the encoder (VoxCeleb, under mp3s)
    "crop_waveform": False,
    # where the labels come from (IEMOCAP: its own preparation)
    "data_source": None,
    # test batches (VoxCeleb: its eval_batch_size)
    "test_batch_size": None,
}

#: The settings that the probe code and the MP3S recipes read, beside
#: :data:`PROBE_DEFAULTS`: an unused YAML key close to one is a typo.
PROBE_KEYS = frozenset(
    """
    annealing_metric batch_size beam_search blank_index cache_features
    checkpointer compute_cost crop_seconds data_folder dev_ratio dev_split
    epoch_counter eval_batch_size feature_cache features label
    label_encoder layer_reference lr_annealing microphones modules
    n_classes num_workers number_of_epochs opt_class output_folder
    p_target probe protocol random_init sample_rate save_folder seed
    skip_prep sorting split split_ratio ssl_folder standardize_utterances
    test_decoder test_session test_speaker test_splits tokenizer
    train_folder train_logger train_segments train_splits valid_session
    verification_file weights_opt_class
    """.split()
) | frozenset(PROBE_DEFAULTS)


def deviations(protocol, task, hparams_file):
    """What a run differs in from MP3S.

    Arguments
    ---------
    protocol : str
        One of :data:`PROTOCOLS`.
    task : str
        Task key of :mod:`summary_ssl.probes.tasks` (``ASR``, ``IC``,
        ``ER``, ``SV``, ``KWS``).
    hparams_file : str
        The recipe YAML of the run.

    Returns
    -------
    list of str

    Example
    -------
    >>> yaml = "recipes/MP3S/SLURP/IC/hparams/linear.yaml"
    >>> deviations("fast", "IC", yaml)[-1]
    '`--protocol fast` sets batch_size=16, test_batch_size=16, lr=0.01, \
number_of_epochs=40, whiten_shrinkage=0.3, zero_init=True, lr_weights=0.03'
    """
    items = list(COMMON_DEVIATIONS) + list(ALL_TASKS[task].deviations)
    if protocol == "fast":
        items += ALL_TASKS[task].fast_notes
        values = protocol_overrides(hparams_file, protocol)
        if values:
            items.append(
                "`--protocol fast` sets "
                + ", ".join(f"{k}={v}" for k, v in values.items())
            )
    return items


def recipe_and_probe(hparams_file):
    """``("<dataset>/<task>", "<probe>")`` of a recipe YAML path.

    Example
    -------
    >>> recipe_and_probe("recipes/MP3S/SLURP/IC/hparams/linear.yaml")
    ('SLURP/IC', 'linear')
    """
    path = os.path.normpath(os.path.abspath(hparams_file))
    probe = os.path.splitext(os.path.basename(path))[0]
    task_dir = os.path.dirname(os.path.dirname(path))
    recipe = "/".join(task_dir.split(os.sep)[-2:])
    return recipe, probe


def protocol_overrides(hparams_file, protocol):
    """The overrides a protocol applies to a recipe YAML.

    Arguments
    ---------
    hparams_file : str
        ``recipes/MP3S/<dataset>/<task>/hparams/<probe>.yaml``.
    protocol : str
        One of :data:`PROTOCOLS`.

    Returns
    -------
    dict

    Example
    -------
    >>> protocol_overrides("MP3S/SLURP/IC/hparams/linear.yaml", "mp3s")
    {}
    >>> protocol_overrides("MP3S/SLURP/IC/hparams/linear.yaml", "fast")["lr"]
    0.01
    """
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"protocol must be one of {PROTOCOLS}, not {protocol!r}"
        )
    if protocol == "mp3s":
        return {}
    recipe, probe = recipe_and_probe(hparams_file)
    return dict(FAST.get(recipe, {}).get(probe, {}))


def load_hparams(hparams_file, overrides=None):
    """Loads a probe YAML under its protocol.

    The protocol is ``protocol`` from ``overrides``, or else the YAML's.
    Its settings (:func:`protocol_overrides`) are applied over the YAML,
    ``overrides`` over both, then :data:`PROBE_DEFAULTS` for the keys the
    YAML leaves out.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    overrides : str or dict, optional
        SpeechBrain command-line overrides (a YAML string, as returned by
        ``speechbrain.parse_arguments``) or a dict.

    Returns
    -------
    hparams : dict
        The loaded hyperparameters (``hparams["protocol"]`` says which).
    overrides : str
        Every override applied, as YAML (for
        ``speechbrain.create_experiment_directory``).

    Raises
    ------
    ValueError
        An override of a key the YAML does not declare, or an unused key
        close to a known setting (a typo), with the likely name.
    """
    yaml = ruamel.yaml.YAML()
    if isinstance(overrides, str):
        merged = yaml.load(overrides) if overrides.strip() else None
    else:
        merged = dict(overrides or {})
    if merged is None:
        merged = {}
    with open(hparams_file, encoding="utf-8") as fin:
        yaml_text = fin.read()
    written = re.search(r"^protocol:\s*(\w+)", yaml_text, re.MULTILINE)
    protocol = merged.get("protocol") or (written and written.group(1))
    protocol = str(protocol or "mp3s")
    for key, value in protocol_overrides(hparams_file, protocol).items():
        if key not in merged:
            merged[key] = value
    merged["protocol"] = protocol
    stream = io.StringIO()
    yaml.dump(merged, stream)
    text = stream.getvalue()
    name = os.path.basename(hparams_file)
    errors = override_errors(top_level_keys(yaml_text), merged, name)
    if not errors:
        hparams = load_hyperpyyaml(yaml_text, text)
        errors = unused_key_errors(hparams, f"{yaml_text}\n{text}", PROBE_KEYS)
    if errors:
        raise ValueError(
            f"Unknown settings in {hparams_file} or its overrides (a typo?)"
            ":\n  - " + "\n  - ".join(errors)
        )
    for key, value in PROBE_DEFAULTS.items():
        hparams.setdefault(key, value)
    return hparams, text


def start_experiment(argv):
    """What every probe ``train.py`` starts with: parses its command line
    ``argv`` (the YAML, then the overrides), loads the YAML
    (:func:`load_hparams`) and makes the output folder; returns the
    hyperparameters and SpeechBrain's run options."""
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    hparams, overrides = load_hparams(hparams_file, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    return hparams, run_opts
