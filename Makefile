# The two commands a new user runs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when pyproject.toml changes; the stamp files record the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: create the venv, install, run the main job on the bundled sample county, write $(OUT)/lishu-conservation-tillage/
demo: $(VENV)/.installed
	$(BIN)/mrv demo

## test: create or update the venv with the dev extra and run the whole suite
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/rothc_throughput.py
	$(BIN)/python benchmarks/zonal.py

clean:
	rm -rf $(OUT) data/mrv.sqlite .pytest_cache
