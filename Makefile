# Two commands do all set-up: `make run` and `make test`.
# Each install step is a stamp file in .venv, redone only when pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev install-extras clean

run: $(VENV)/.installed
	$(BIN)/rlexp train $(ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check rlexp tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check rlexp tests benchmarks

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The cluster launchers (Ray, SLURM); their tests skip without them. (`dev` already brings
# the reverb, gymnasium, optuna, atari, dm_control, minatar and video extras.)
install-extras: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e ".[dev,ray,submitit]"
	$(BIN)/python -m pip check

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

clean:
	rm -rf $(VENV) outputs/* .pytest_cache
