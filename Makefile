# Two commands do all set-up: `make run` and `make test`.
# Each install step is a stamp file in .venv, redone only when pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-all checks lint install install-dev install-extras docs docs-generate clean

run: $(VENV)/.installed
	$(BIN)/rlexp train $(ARGS)

# CI: lint, the docs site and the suite with every extra, the cluster launchers' (ray,
# submitit) included, on $(TEST_WORKERS) pytest-xdist workers; tests marked `slow` (every
# golden preset, the second signal and launcher variants) run in `make test-all`.
# pytest's exit code 5 (no test collected) fails it like any other.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

test: checks
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

# Everything `make test` runs, and the slow tests.
test-all: checks
	$(PYTEST) $(PYTEST_ARGS)

checks: $(VENV)/.installed-extras
	$(BIN)/ruff check rlexp tests benchmarks docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site

# The documentation site in site/ (docs/reference/ is generated: make docs-generate).
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Rewrite docs/reference/<group>.md from the registry (`rlexp list --format markdown`).
docs-generate: $(VENV)/.installed-dev
	$(BIN)/python docs/generate.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check rlexp tests benchmarks docs

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The cluster launchers (Ray, SLURM) with dev, resolved in one pip call. (`dev` already
# brings the reverb, gymnasium, optuna, atari, dm_control, minatar, video and docs extras.)
install-extras: $(VENV)/.installed-extras

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m pip check
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip check
	touch $@

$(VENV)/.installed-extras: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,ray,submitit]"
	$(BIN)/python -m pip check
	touch $@

clean:
	rm -rf $(VENV) outputs/* .pytest_cache site
