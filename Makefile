PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
SDK_VENV := .venv-sdk
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup demo demo-canary demo-rollback test test-all lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

## What the demos need: smstate and scikit-learn for the quickstart model.
$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[examples]'
	touch $@

## What the suite needs on top: moto, hypothesis, the AWS CLI, docker, mypy...
$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,examples]'
	touch $@

## The SageMaker Python SDK v2 for tests/sdk, in a venv of its own: its pins would move the suite's numpy and boto3.
$(SDK_VENV)/.sdk: tests/sdk/requirements.txt
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --upgrade pip
	$(SDK_VENV)/bin/pip install --quiet -r tests/sdk/requirements.txt
	touch $@

setup: $(VENV)/.test

## The local quickstart, end to end: train, apply, invoke, plan, destroy.
demo: $(VENV)/.demo
	bash examples/quickstart/demo.sh

## A blue/green canary rollout under live traffic, on the local target.
demo-canary: $(VENV)/.demo
	bash examples/blue-green-canary/demo.sh canary

## A canary of a release that fails half its requests: automatic rollback.
demo-rollback: $(VENV)/.demo
	bash examples/blue-green-canary/demo.sh rollback

## Two models on one endpoint as inference components: a rolling update under traffic, copies scaled.
.PHONY: demo-components demo-components-rollback
demo-components: $(VENV)/.demo
	bash examples/inference-components/demo.sh roll

## An inference component rolled to a model that cannot load: automatic rollback.
demo-components-rollback: $(VENV)/.demo
	bash examples/inference-components/demo.sh rollback

## The test suite (what CI runs), spread over the machine's cores; long variants are marked slow and left out.
test: $(VENV)/.test $(SDK_VENV)/.sdk
	$(BIN)/python -m pytest -q -n $(JOBS)

## Including the long variants.
test-all: $(VENV)/.test $(SDK_VENV)/.sdk
	$(BIN)/python -m pytest -q -n $(JOBS) -m ''

lint: $(VENV)/.test
	$(BIN)/python -m mypy

## The performance harness (README, Performance).
bench: $(VENV)/.test
	$(BIN)/pip install --quiet -e '.[bench]'
	command -v wrk >/dev/null || (apt-get install -y -qq wrk >/dev/null 2>&1) || echo "bench: install wrk for the data-path table"
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(SDK_VENV) build .pytest_cache .mypy_cache
