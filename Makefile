PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,examples]'
	touch $(STAMP)

setup: $(STAMP)

## The local quickstart, end to end: train, apply, invoke, plan, destroy.
demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH bash examples/quickstart/demo.sh

## The test suite (what CI runs).
test: $(STAMP)
	$(BIN)/python -m pytest -q

## Including the long variants.
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

lint: $(STAMP)
	$(BIN)/python -m mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	command -v wrk >/dev/null || (apt-get install -y -qq wrk >/dev/null 2>&1) || echo "bench: install wrk for the data-path table"
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache
