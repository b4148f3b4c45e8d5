"""The package stands alone: a wheel built from this checkout, installed
outside it, plans with the measured throughput it ships and imports every
lobe and layer, with nothing of the checkout (``benchmarks/``,
``tests/``) importable or read.

The wheel is built offline (``pip wheel --no-build-isolation``, with the
environment's setuptools) from a copy of the sources, so the build leaves
no ``build/`` folder in the checkout, and installed with ``pip install
--target``; the checks run from another working directory with only that
folder on ``PYTHONPATH``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from summary_ssl.budget.__main__ import main
from tools.toy import PRETRAIN_RECIPE

REPO = Path(__file__).resolve().parents[2]
YAML = PRETRAIN_RECIPE / "hparams" / "summarymixing_w2v2.yaml"
MEASURED = (
    "measured: summarymixing_w2v2 on H100, eager, 2,169 audio-s/s at "
    "12.5 s utterances (h100_2026-11-26_step.json, NVIDIA H100 80GB HBM3, "
    "2026-11-26)"
)
# Imported from the wheel: every module of the lobes and layers, and the
# planner (which imports summary_ssl.toy, through brains.hparams_keys:
# toy.py only names the checkout's paths, it reads none of them).
IMPORTS = """
import importlib, pkgutil, sys
from pathlib import Path
scratch = Path(sys.argv[1]).resolve()
import summary_ssl, summary_ssl.lobes, summary_ssl.nnet
import summary_ssl.budget.__main__
names = []
for package in (summary_ssl.lobes, summary_ssl.nnet):
    prefix = package.__name__ + "."
    for info in pkgutil.walk_packages(package.__path__, prefix):
        module = importlib.import_module(info.name)
        assert scratch in Path(module.__file__).resolve().parents, module
        names.append(info.name)
for old, new in summary_ssl.lobes.MOVED.items():  # the YAML paths of old
    old = importlib.import_module("summary_ssl.lobes." + old)
    assert old is importlib.import_module("summary_ssl.lobes." + new)
print(summary_ssl.__file__)
print(" ".join(names))
"""


def _pip(*args, cwd):
    subprocess.run(
        [sys.executable, "-m", "pip", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env=dict(
            os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1"
        ),
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A folder holding the wheel's install (and nothing of the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "MANIFEST.in", "README.md"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "summary_ssl",
        source / "summary_ssl",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    dist = root / "dist"
    _pip(
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        dist,
        ".",
        cwd=source,
    )
    (wheel,) = dist.glob("summary_ssl-*.whl")
    scratch = root / "site"
    _pip("install", "--no-deps", "--target", scratch, wheel, cwd=root)
    return scratch


def _run(args, scratch, cwd):
    env = dict(os.environ, PYTHONPATH=str(scratch))
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_wheel_ships_the_measured_throughput(installed, tmp_path, capsys):
    """The installed planner prints the measured H100 throughput, and the
    same report as the checkout's planner."""
    shipped = installed / "summary_ssl/budget/data/measured_throughput.json"
    assert shipped.is_file()
    assert not (installed / "benchmarks").exists()
    argv = [str(YAML), "--gpu", "H100", "--gpus", "4"]
    wheel = _run(["-m", "summary_ssl.budget", *argv], installed, tmp_path)
    assert MEASURED in wheel.stdout
    main(argv)  # the checkout's planner
    assert wheel.stdout == capsys.readouterr().out


def test_wheel_imports_every_lobe(installed, tmp_path):
    out = _run(["-c", IMPORTS, str(installed)], installed, tmp_path).stdout
    where, names = out.strip().splitlines()[-2:]
    assert installed.resolve() in Path(where).resolve().parents
    assert "summary_ssl.lobes.encoders.wav2vec2" in names.split()
    assert "summary_ssl.nnet.summary_mixing" in names.split()
