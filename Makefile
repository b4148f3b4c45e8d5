# Two entry points for a fresh machine (see README.md):
#   make demo  - set up, then pretrain + probe on the bundled toy corpus
#   make test  - set up, then run every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m pytest

lint: setup
	$(PY) -m pip install -q ruff
	$(VENV)/bin/ruff check summary_ssl recipes tests tools benchmarks
