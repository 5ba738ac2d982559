# Two commands on a fresh machine:  `make run`  (install + pipeline + prediction)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DVC_NO_ANALYTICS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test bench clean lock

# Exact versions and hashes from requirements.lock (`make lock` re-resolves it), then roughml itself.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## install, rebuild everything from params.yaml, then estimate ζ for the shipped example images
run: install
	$(BIN)/dvc repro
	$(BIN)/roughml predict --model-stage Production examples/lab --output predictions.csv

## install and run the tests
test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_classical.py
	$(BIN)/python benchmarks/bench_predict.py
	$(BIN)/python benchmarks/bench_accuracy.py
	$(BIN)/python benchmarks/bench_length.py

## re-resolve requirements.lock from pyproject.toml (needs the network; commit the result)
lock:
	$(PYTHON) -m pip install --quiet --target .uv-tool uv
	PYTHONPATH=.uv-tool .uv-tool/bin/uv pip compile pyproject.toml --extra test --universal \
	  --generate-hashes --python-version 3.11 -c lock-constraints.txt -o requirements.lock
	rm -rf .uv-tool

clean:
	rm -rf $(VENV) data/generated models reports mlflow.db mlartifacts mlruns
