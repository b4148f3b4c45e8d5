"""Scripts run from the repository root (``python tools/<name>.py``), and
the :mod:`tools.toy` package they share with the tests and benchmarks."""
