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


def script_in_folder(folder, name):
    """Imports ``<repository>/<folder>/<name>.py`` as a module. The scripts
    of ``benchmarks/`` and ``tools/`` import each other by name, so
    ``folder`` is on ``sys.path`` while it loads."""
    import os
    import sys

    folder = os.path.join(os.path.dirname(__file__), "..", folder)
    sys.path.insert(0, folder)
    try:
        return import_file(name, os.path.join(folder, f"{name}.py"))
    finally:
        sys.path.remove(folder)


def benchmark_script(name):
    """Imports ``benchmarks/<name>.py`` as a module."""
    return script_in_folder("benchmarks", name)


def benchmark_fixture(name):
    """A module-scoped fixture ``bench``: ``benchmarks/<name>.py`` imported
    once for a test module (``bench = benchmark_fixture("encoder_bench")``
    in it)."""

    @pytest.fixture(scope="module", name="bench")
    def bench():
        return benchmark_script(name)

    return bench


def run_cpu_smoke(bench, argv, folder):
    """Runs ``bench.main(argv)``, a benchmark script's smoke run on the CPU,
    with its JSON written to ``folder``. Checks that its report carries the
    CPU note and that the markdown written beside the JSON is the report.
    Returns (the report, the saved JSON)."""
    import json

    out = folder / "bench.json"
    text, _ = bench.main(list(argv) + ["--json", str(out)])
    assert "CPU numbers are a smoke test" in text
    assert out.with_suffix(".md").read_text().strip() == text.strip()
    return text, json.loads(out.read_text())


def load_tool(name):
    """Imports ``tools/<name>.py`` as a module."""
    return script_in_folder("tools", name)
