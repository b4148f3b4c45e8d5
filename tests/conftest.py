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


requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"
)
