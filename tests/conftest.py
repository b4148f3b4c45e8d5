"""Shared pytest fixtures and options."""

import pytest
import torch


def pytest_addoption(parser):
    """Adds --device, as in SpeechBrain's test suite."""
    parser.addoption(
        "--device", action="store", default="cpu", help="cpu or cuda"
    )


@pytest.fixture
def device(request):
    """The device given on the command line."""
    name = request.config.getoption("--device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return torch.device(name)


def requires_cuda(test):
    """Marks a GPU-only test: skipped without CUDA, and marked ``cuda`` so
    that ``pytest -m cuda`` (benchmarks/gpu_check.sh) selects exactly
    these tests, whatever their names."""
    skip = pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs a CUDA GPU"
    )
    return pytest.mark.cuda(skip(test))


def real_speech_dir():
    """``real_speech/`` of the shared material: ``$REAL_SPEECH`` if set,
    else ``<repository>/../shared/real_speech``; None when absent (a
    user's clone has none: the tests that read it skip)."""
    import os

    folder = os.environ.get("REAL_SPEECH") or os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "real_speech"
    )
    return os.path.abspath(folder) if os.path.isdir(folder) else None


@pytest.fixture
def real_speech():
    """The real recordings folder, or a skip."""
    folder = real_speech_dir()
    if folder is None:
        pytest.skip("real_speech/ not found (set $REAL_SPEECH)")
    return folder


def import_file(name, path):
    """Imports the Python file ``path`` as a module named ``name`` (a
    recipe's train.py, a benchmark script, a tool)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def benchmark_script(name):
    """Imports ``benchmarks/<name>.py`` as a module."""
    import os

    benchmarks = os.path.join(os.path.dirname(__file__), "..", "benchmarks")
    return import_file(name, os.path.join(benchmarks, f"{name}.py"))


def load_tool(name):
    """Imports ``tools/<name>.py`` as a module (the tools import each other
    by name, so ``tools/`` is on ``sys.path`` while it loads)."""
    import os
    import sys

    tools = os.path.join(os.path.dirname(__file__), "..", "tools")
    sys.path.insert(0, tools)
    try:
        return import_file(name, os.path.join(tools, f"{name}.py"))
    finally:
        sys.path.remove(tools)
