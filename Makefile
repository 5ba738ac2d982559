# Two commands on a fresh machine:  `make run`  (install + pipeline + prediction)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DVC_NO_ANALYTICS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test bench clean lock browser serve

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
	$(BIN)/roughml predict --model-alias production examples/lab --output predictions.csv
	$(BIN)/roughml predict --model-alias production examples/frames --output frame_predictions.csv --overlays overlays

SERVE_PORT ?= 5001
MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

## serve the registry's champion (alias production) over REST: POST http://127.0.0.1:$(SERVE_PORT)/invocations
serve: install
	MLFLOW_TRACKING_URI=$(MLFLOW_TRACKING_URI) $(BIN)/mlflow models serve -m "models:/roughml@production" \
	  --env-manager local -h 127.0.0.1 -p $(SERVE_PORT)

## install and run the tests
test: install browser
	$(BIN)/python -m pytest -q

## a headless Chromium for the report's browser test: Debian's package when we may install it
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "no Chromium and no way to install it here: the report's browser test will be skipped (apt-get install chromium)"

bench: install
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_classical.py
	$(BIN)/python benchmarks/bench_predict.py
	$(BIN)/python benchmarks/bench_accuracy.py
	$(BIN)/python benchmarks/bench_length.py
	$(BIN)/python benchmarks/bench_sample.py
	$(BIN)/python benchmarks/bench_generalization.py
	$(BIN)/python benchmarks/bench_frames.py
	$(BIN)/python benchmarks/bench_seed_spread.py

## re-resolve requirements.lock from pyproject.toml (needs the network; commit the result)
lock:
	$(PYTHON) -m pip install --quiet --target .uv-tool uv
	PYTHONPATH=.uv-tool .uv-tool/bin/uv pip compile pyproject.toml --extra test --universal \
	  --generate-hashes --annotation-style line --no-header --python-version 3.11 -c lock-constraints.txt -o requirements.lock
	rm -rf .uv-tool

clean:
	rm -rf $(VENV) data/generated models reports mlflow.db mlartifacts mlruns
