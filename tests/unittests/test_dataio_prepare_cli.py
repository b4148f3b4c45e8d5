"""The command line of every preparation (summary_ssl.dataio.prepare_cli)
and the recipes' ``*_prepare.py`` scripts built on it."""

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from summary_ssl.dataio.iemocap import prepare_iemocap
from summary_ssl.dataio.librilight import prepare_librilight
from summary_ssl.dataio.librispeech import SPLITS, prepare_librispeech
from summary_ssl.dataio.prepare_cli import (
    preparation_parser,
    run_preparation_cli,
)
from summary_ssl.dataio.slurp import prepare_slurp
from summary_ssl.dataio.speaker_folder import prepare_speaker_folder
from summary_ssl.finetune.stitched_keywords import prepare_stitched_keywords
from tools.toy.corpus import TOY_CORPUS_DIR

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
LIBRISPEECH_SCRIPT = (
    RECIPES
    / "LibriSpeech"
    / "self-supervised-learning"
    / "wav2vec2"
    / "librispeech_prepare.py"
)
IEMOCAP_SCRIPT = RECIPES / "MP3S" / "IEMOCAP" / "ER" / "iemocap_prepare.py"


def _parse(prepare_fn, argv, **kwargs):
    return vars(preparation_parser(prepare_fn, **kwargs).parse_args(argv))


def test_options_typed_from_defaults():
    args = _parse(
        prepare_librilight,
        "in out --subsets small medium --target_len_sec 20 "
        "--min_duration 10 --max_duration 20.2 --workers 16".split(),
    )
    assert args["subsets"] == ["small", "medium"]
    assert args["target_len_sec"] == 20.0
    assert isinstance(args["target_len_sec"], float)
    assert (args["min_duration"], args["max_duration"]) == (10.0, 20.2)
    assert args["workers"] == 16 and isinstance(args["workers"], int)
    assert args["csv_name"] == "train.csv"
    assert (args["data_folder"], args["save_folder"]) == ("in", "out")


def test_none_defaults_typed_from_the_documentation():
    """``valid_session : int`` in the function's docstring;
    ``min_duration, max_duration : float`` in prepare_utils'; a dict
    (``label_map``) gets no option."""
    args = _parse(
        prepare_iemocap,
        "in out --valid_session 3 --test_speaker 4 --min_duration 1.5 "
        "--sessions 1 2 3".split(),
    )
    assert args["valid_session"] == 3 and args["test_speaker"] == 4
    assert args["min_duration"] == 1.5 and args["max_duration"] is None
    assert args["sessions"] == [1, 2, 3]
    assert "label_map" not in args
    with pytest.raises(SystemExit):
        _parse(prepare_iemocap, "in out --label_map x".split())
    argv = "in out --keywords alexa jarvis --max_files_per_keyword 3".split()
    args = _parse(prepare_stitched_keywords, argv)  # list of str, int
    assert args["keywords"] == ["alexa", "jarvis"]
    assert args["max_files_per_keyword"] == 3


def test_bool_options():
    assert _parse(prepare_librilight, ["in", "out"])["decode"] is False
    assert _parse(prepare_librilight, "i o --decode".split())["decode"]
    assert not _parse(prepare_librilight, "i o --no_decode".split())["decode"]
    assert _parse(prepare_slurp, ["i", "o"])["progress"] is True
    assert not _parse(prepare_slurp, "i o --no_progress".split())["progress"]
    with pytest.raises(SystemExit):
        _parse(prepare_librilight, "i o --decode --no_decode".split())


def test_unknown_option_and_missing_argument_fail(capsys):
    with pytest.raises(SystemExit):
        _parse(prepare_slurp, "in out --no_such_option 1".split())
    with pytest.raises(SystemExit):
        _parse(prepare_slurp, ["in"])
    with pytest.raises(SystemExit):  # a keyword with no default: required
        _parse(prepare_speaker_folder, ["in", "out"])
    args = _parse(prepare_speaker_folder, "i o --train_folder t".split())
    assert args["train_folder"] == "t"
    assert "no_such_option" in capsys.readouterr().err


def test_optional_positionals_and_command_defaults():
    positional = ("data_folder", "save_folder", "splits")
    args = _parse(prepare_librispeech, ["i", "o"], positional=positional)
    assert tuple(args["splits"]) == SPLITS
    args = _parse(prepare_librispeech, "i o a b".split(), positional=positional)
    assert args["splits"] == ["a", "b"]
    positional = ("data_folder", "save_folder", "test_session")
    assert (
        _parse(prepare_iemocap, "i o 2".split(), positional=positional)[
            "test_session"
        ]
        == 2
    )
    defaults = dict(subsets=["medium"], decode=True)
    args = _parse(prepare_librilight, ["i", "o"], defaults=defaults)
    assert args["subsets"] == ["medium"] and args["decode"] is True
    argv = "i o --no_decode".split()
    args = _parse(prepare_librilight, argv, defaults=defaults)
    assert args["decode"] is False


def test_runs_a_preparation(tmp_path, capsys):
    """The command line writes what the function writes."""
    slurp = os.path.join(TOY_CORPUS_DIR, "SLURP")
    argv = [slurp, str(tmp_path / "cli"), "--splits", "devel", "--no_progress"]
    outputs = run_preparation_cli(prepare_slurp, "Prepares SLURP.", argv)
    assert str(outputs) in capsys.readouterr().out
    direct = prepare_slurp(
        slurp, tmp_path / "direct", splits=["devel"], progress=False
    )
    assert filecmp.cmp(outputs["devel"], direct["devel"], shallow=False)


def test_recipe_scripts(tmp_path):
    """The documented usages of two recipe scripts: optional positionals."""
    out = tmp_path / "ls"
    subprocess.run(
        [
            sys.executable,
            str(LIBRISPEECH_SCRIPT),
            TOY_CORPUS_DIR + "/LibriSpeech",
            str(out),
            "dev-clean",
            "--no_progress",
        ],
        check=True,
        cwd=REPO,
    )
    assert sorted(os.listdir(out)) == [
        "dev-clean.csv",
        "excluded_dev-clean.txt",
        "prepare_librispeech_opts.json",
    ]
    out = tmp_path / "iemocap"
    result = subprocess.run(
        [
            sys.executable,
            str(IEMOCAP_SCRIPT),
            TOY_CORPUS_DIR + "/IEMOCAP",
            str(out),
            "4",
            "--no_progress",
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert "'test': " in result.stdout
    direct = prepare_iemocap(
        TOY_CORPUS_DIR + "/IEMOCAP", tmp_path / "d", 4, progress=False
    )
    for name, path in direct.items():
        assert filecmp.cmp(out / f"{name}.csv", path, shallow=False)
