# Two entry points for a fresh machine (see README.md):
#   make demo  - set up, then pretrain + probe on the bundled toy corpus
#   make test  - set up, then run every test
# and, with the shared real recordings beside the checkout:
#   make real-speech-check - pretrain + probe on real speech (25-37 min, 2 cores)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup system-deps demo test lint real-speech-check

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

demo: setup
	$(PY) tools/demo.py

REAL_SPEECH_WORK ?= /tmp/summary_ssl_real_speech
real-speech-check: setup
	$(PY) tools/real_speech_check.py --work $(REAL_SPEECH_WORK)

# espeak-ng is only needed to regenerate the toy corpus (one test, skipped
# without it); installed when we are root with apt, never required.
system-deps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq espeak-ng) >/dev/null \
	      || echo "could not install espeak-ng: its test will be skipped"; \
	  else \
	    echo "espeak-ng not found: the corpus regeneration test is skipped"; \
	  fi; }

test: setup system-deps
	$(PY) -m pytest

lint: setup
	$(PY) -m pip install -q ruff
	$(VENV)/bin/ruff check summary_ssl recipes tests tools benchmarks
