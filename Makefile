# The two commands a new user runs: `make demo` and `make test`. Everything installs itself.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster
export PYTHONPATH := $(CURDIR)
# XGBoost's OpenMP threads spin while waiting by default: 2.5x slower on a shared 2-core machine.
export OMP_WAIT_POLICY := PASSIVE

.PHONY: help install demo test test-fast test-python test-web lint lint-python lint-web format web-install dagster mlflow serve web
.PHONY: sample-data bench clean constraints
.PHONY: up down status data-push data-pull

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml  ## create .venv and install the pinned dependencies

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: install  ## sample data, every asset for every partition, a summary
	$(BIN)/python -m scripts.demo

help:  ## this list of targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' Makefile | sed -E 's/^([a-zA-Z_-]+):.*## (.*)/\1\t\2/' | \
	  awk -F'\t' '{printf "  make %-13s %s\n", $$1, $$2}'

test: install lint test-python test-web  ## lint and type checks, then every test suite (CI runs exactly this)

test-fast: install  ## the quick edit loop: Python tests not marked slow (no training runs, browsers, stacks)
	$(BIN)/python -m pytest -m "not slow" -q

test-python: install web-install  ## every pytest test (the stack test starts the web app too)
	$(BIN)/python -m pytest

lint: lint-python lint-web  ## ruff (check, format), mypy, tsc and ESLint: what make test runs first

lint-python: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint-web: web-install
	cd web && npm run typecheck

format: install  ## rewrite Python files with ruff's formatter and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web-install: web/node_modules/.installed

test-web: install web-install  ## vitest (route handlers, pure logic) and the browser tests
	cd web && npm test
	cd web && npm run test:e2e

dagster: install  ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

mlflow: install  ## the MLflow UI on http://127.0.0.1:5000 over the embedded store (after make demo)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/data/mlflow/mlflow.db -h 127.0.0.1 -p 5000

serve: install  ## the inference service on serving.host:serving.port (after make demo)
	$(BIN)/python -m serving

web: web-install  ## the Next.js app on http://127.0.0.1:3001 against the service (make serve)
	cd web && npm run build && PORT=3001 npm start

up: install web-install  ## the platform as local processes: PostgreSQL-backed Dagster (UI :3000, daemon), MLflow :5000, inference :8000, web :3001
	$(BIN)/python -m scripts.stack up

down:  ## stop exactly what make up started
	$(or $(wildcard $(BIN)/python),python3) -m scripts.stack down

status:  ## what make up started and whether it still runs
	$(or $(wildcard $(BIN)/python),python3) -m scripts.stack status

sample-data: install
	$(BIN)/ml-platform-sample-data

data-push: install  ## track data/raw and the annotation exports with DVC and upload them to the dvc: remote
	$(BIN)/python -m scripts.data_versioning push

data-pull: install  ## restore data/raw and the annotation exports from the dvc: remote (after make data-push)
	$(BIN)/python -m scripts.data_versioning pull

bench: install  ## the benchmarks recorded in docs/BENCHMARKS.md
	$(BIN)/python bench/bench_features.py
	$(BIN)/python bench/bench_labeling.py
	$(BIN)/python bench/bench_learning.py
	$(BIN)/python bench/bench_serving.py

constraints:  ## re-pin constraints.txt from the current .venv (after changing pyproject.toml)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:  ## remove generated data and the Dagster home (keeps .venv, the committed data/*.dvc files and the DVC remote)
	if [ -d data ]; then find data -mindepth 1 -maxdepth 1 ! -name '*.dvc' ! -name dvc-remote -exec rm -rf {} +; fi
	rm -rf .dagster
