"""The class paths that YAML files and READMEs name are public API: they
keep working after lobes/ was split into subpackages."""

import importlib
import pathlib
import re

import pytest

import summary_ssl.lobes

REPO = pathlib.Path(__file__).resolve().parents[2]
# !new:summary_ssl.x.y.Class, !name:summary_ssl.x.f, and `summary_ssl.x.Y`
PATH = re.compile(r"(?:!new:|!name:|`)(summary_ssl(?:\.\w+)+)(?![\w*.(])")


def _named_paths():
    files = list(REPO.glob("recipes/**/*.yaml")) + list(REPO.glob("**/*.md"))
    found = set()
    for f in files:
        if ".venv" in f.parts or not f.is_file():
            continue
        found.update(PATH.findall(f.read_text(encoding="utf-8")))
    return sorted(found)


def _resolve(dotted):
    """Imports the longest module prefix, then walks the attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("old, new", sorted(summary_ssl.lobes.MOVED.items()))
def test_old_lobe_path_is_the_moved_module(old, new):
    module = importlib.import_module(f"summary_ssl.lobes.{old}")
    assert module is importlib.import_module(f"summary_ssl.lobes.{new}")


def test_old_class_path_builds_the_same_class():
    from summary_ssl.lobes.conformer import ConformerEncoder
    from summary_ssl.lobes.encoders.conformer import ConformerEncoder as New

    assert ConformerEncoder is New
    assert New.__module__ == "summary_ssl.lobes.encoders.conformer"


def test_every_named_path_resolves():
    paths = _named_paths()
    assert "summary_ssl.lobes.conformer.ConformerEncoder" in paths
    for dotted in paths:
        _resolve(dotted)


def test_unknown_old_name_still_fails():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("summary_ssl.lobes.no_such_module")
