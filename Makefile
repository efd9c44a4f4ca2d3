# The README's two commands. Both set up .venv first (see scripts/setup.sh).
VENV ?= .venv
export SEAL_VENV := $(VENV)

.PHONY: run test lint setup

# The main job on the embedded default: evaluate the tiny model on wordmath.
run:
	scripts/setup.sh
	$(VENV)/bin/seal eval --model tiny --task wordmath --split test --limit 100 --samples 8

# The test suite (CI runs exactly this).
test:
	scripts/setup.sh test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/python -m pytest

lint:
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
