"""Settings that catch typos: value checks per objective, misspelt keys
in a YAML or on the command line, keys a Brain reads."""

import re

import pytest
from hyperpyyaml import load_hyperpyyaml

from summary_ssl.brains.hparams_checks import (
    check_hparams,
    check_shared_hparams,
    check_teacher_student_hparams,
    check_wav2vec2_hparams,
    checks_for,
)
from summary_ssl.brains.hparams_keys import (
    known_keys,
    load_recipe_hparams,
    top_level_keys,
)
from summary_ssl.brains.pretraining import PretrainingBrain
from summary_ssl.brains.recipe import run_pretraining
from summary_ssl.brains.teacher_student import TeacherStudentBrain
from summary_ssl.brains.wav2vec2 import W2V2Brain
from tools.toy import (
    PRETRAIN_RECIPE,
    PRETRAIN_TOY_OVERRIDES,
    S3L_RECIPE,
    S3L_TOY_OVERRIDES,
    to_argv,
)

W2V2_YAMLS = sorted((PRETRAIN_RECIPE / "hparams").glob("*.yaml"))
S3L_YAMLS = sorted((S3L_RECIPE / "hparams").glob("*.yaml"))
RECIPES = [(W2V2Brain, y, PRETRAIN_TOY_OVERRIDES) for y in W2V2_YAMLS] + [
    (TeacherStudentBrain, y, S3L_TOY_OVERRIDES) for y in S3L_YAMLS
]
IDS = [y.stem for _, y, _ in RECIPES]


def _overrides(toy, tmp_path, **extra):
    """YAML override text of the toy settings."""
    argv = to_argv("unused", dict(toy, output_folder=str(tmp_path), **extra))
    return "\n".join(a[2:].replace("=", ": ", 1) for a in argv[1:])


def test_five_recipes():
    assert len(W2V2_YAMLS) == 3 and len(S3L_YAMLS) == 2


def test_each_brain_gets_its_objective_checks():
    assert checks_for(W2V2Brain) == (
        check_shared_hparams,
        check_wav2vec2_hparams,
    )
    assert checks_for(TeacherStudentBrain) == (
        check_shared_hparams,
        check_teacher_student_hparams,
    )
    assert checks_for(PretrainingBrain) == (check_shared_hparams,)
    bad = dict(lr=0, mask_prob=2.0, noise_prob=2.0)
    with pytest.raises(ValueError) as w2v2:
        check_hparams(bad, checks_for(W2V2Brain))
    assert "mask_prob" in str(w2v2.value) and "lr:" in str(w2v2.value)
    assert "noise_prob" not in str(w2v2.value)
    with pytest.raises(ValueError) as ts:
        check_hparams(bad, checks_for(TeacherStudentBrain))
    assert "noise_prob" in str(ts.value) and "lr:" in str(ts.value)
    assert "mask_prob" not in str(ts.value)


def test_one_error_lists_every_bad_value():
    with pytest.raises(ValueError) as error:
        check_hparams(
            dict(precision="fp8", lr=-1, d_model=10, nhead=3, mask_length=0),
            checks_for(W2V2Brain),
        )
    lines = str(error.value).splitlines()
    assert lines[0] == "Bad values in the hyperparameters:"
    assert [line.split(":")[0].strip(" -") for line in lines[1:]] == [
        "precision",
        "lr",
        "nhead",
        "mask_length",
    ]


@pytest.mark.parametrize("brain_class, yaml, toy", RECIPES, ids=IDS)
def test_recipe_yamls_declare_every_key_their_brain_reads(
    brain_class, yaml, toy
):
    text = yaml.read_text()
    keys = top_level_keys(text)
    missing = [k for k in brain_class.required_hparams if k not in keys]
    assert not missing
    # and no dead key: each is read by code or used by the YAML itself
    used = set(re.findall(r"<(\w+)", text))
    known = known_keys(brain_class) | used
    dead = [k for k in keys if k not in known and not k.startswith("_")]
    assert not dead


@pytest.mark.parametrize("brain_class, yaml, toy", RECIPES, ids=IDS)
def test_recipe_yamls_load_through_the_checks(brain_class, yaml, toy, tmp_path):
    hparams = load_recipe_hparams(
        str(yaml), _overrides(toy, tmp_path), brain_class
    )
    assert hparams["lr"] == toy["lr"]


def _with_typo(tmp_path, old, new):
    text = (PRETRAIN_RECIPE / "hparams" / "summarymixing_w2v2.yaml").read_text()
    assert text.count(old) == 1
    path = tmp_path / "mine.yaml"
    path.write_text(text.replace(old, new))
    return str(path)


def test_a_misspelt_yaml_key_is_refused_with_the_right_name(tmp_path):
    """The typo would otherwise train with the default of the right key
    (here the step-log interval and the mask probability)."""
    path = _with_typo(
        tmp_path,
        "\nlog_interval: 50",
        "\nlog_interval: 50\nlog_intervl: 5\nmask_prb: 0.3",
    )
    overrides = _overrides(PRETRAIN_TOY_OVERRIDES, tmp_path)
    with pytest.raises(ValueError) as error:
        load_recipe_hparams(path, overrides, W2V2Brain)
    message = str(error.value)
    assert "(a typo?)" in message
    assert "log_intervl: no code reads it and the YAML does not use it; " in (
        message
    )
    assert "did you mean log_interval?" in message
    assert "mask_prb: no code reads it" in message
    assert "did you mean mask_prob?" in message


def test_helper_keys_of_ones_own_stay_allowed(tmp_path):
    """A key used through !ref, even one close to a setting, and a key
    unlike any setting, are the user's own."""
    path = _with_typo(
        tmp_path,
        "\nlog_interval: 50",
        "\nlog_intervals: 5\nlog_interval: !ref <log_intervals>"
        "\nmy_note: anything",
    )
    overrides = _overrides(PRETRAIN_TOY_OVERRIDES, tmp_path)
    overrides = overrides.replace("log_interval: 10", "log_intervals: 10")
    hparams = load_recipe_hparams(path, overrides, W2V2Brain)
    assert hparams["log_interval"] == 10 and hparams["my_note"] == "anything"


def test_a_misspelt_command_line_override_is_refused(tmp_path):
    yaml = PRETRAIN_RECIPE / "hparams" / "summarymixing_w2v2.yaml"
    toy = dict(PRETRAIN_TOY_OVERRIDES, output_folder=str(tmp_path / "out"))
    for typo, hint in (
        ("lerning_rate", "summarymixing_w2v2.yaml has no such key"),
        ("mask_prb", "did you mean --mask_prob?"),
        ("num_negative", "did you mean --num_negatives?"),
    ):
        argv = to_argv(yaml, dict(toy, **{typo: 1})) + ["--device=cpu"]
        with pytest.raises(ValueError, match=f"--{typo}: .*{hint}"):
            run_pretraining(W2V2Brain, argv)
    assert not (tmp_path / "out").exists()  # refused before anything


def test_a_brain_without_a_key_it_reads_is_an_error(tmp_path):
    with open(PRETRAIN_RECIPE / "hparams" / "summarymixing_w2v2.yaml") as f:
        hparams = load_hyperpyyaml(
            f, dict(PRETRAIN_TOY_OVERRIDES, output_folder=str(tmp_path))
        )
    del hparams["log_interval"], hparams["cost_file"]
    with pytest.raises(ValueError, match="log_interval, cost_file"):
        W2V2Brain(
            modules=hparams["modules"],
            opt_class=hparams["optimizer"],
            hparams=hparams,
            run_opts={"device": "cpu"},
        )
