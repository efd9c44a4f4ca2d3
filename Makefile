# The README's two commands. Both set up .venv first (see scripts/setup.sh).
VENV ?= .venv
export SEAL_VENV := $(VENV)

.PHONY: run test lint setup

# The main job on the embedded default: the self-improvement loop (seal run).
run:
	scripts/setup.sh
	$(VENV)/bin/seal run

# The test suite (CI runs exactly this).
test:
	scripts/setup.sh test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/python -m pytest

lint:
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
