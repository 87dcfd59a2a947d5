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
.PHONY: sample-data bench bench-reliability bench-scale-out clean constraints
.PHONY: up down status data-push data-pull worker

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml  ## create .venv and install the pinned dependencies

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: install  ## sample data, every asset for every partition, a summary (FORCE=1: replace raw files it did not write)
	$(BIN)/python -m scripts.demo $(if $(FORCE),--force)

help:  ## this list of targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' Makefile | sed -E 's/^([a-zA-Z_-]+):.*## (.*)/\1\t\2/' | \
	  awk -F'\t' '{printf "  make %-20s %s\n", $$1, $$2}'

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
	cd web && npm run typecheck && npm run lint
	cd web && npm run check:api-types

.PHONY: api-types check-api-types docs-screenshots

api-types: install web-install  ## regenerate web/generated/api.gen.ts from the inference service's OpenAPI schema
	cd web && npm run api-types

check-api-types: install web-install  ## fail when web/generated/api.gen.ts no longer matches the service's schema
	cd web && npm run check:api-types

docs-screenshots: install web-install  ## the browser tests, refreshing the screenshots in docs/ and docs/frame-times.md
	cd web && E2E_DOCS=1 npm run test:e2e

.PHONY: docs-ui-screenshots
docs-ui-screenshots: install web-install  ## after make demo: the Dagster asset pages and an MLflow run, photographed into docs/
	$(BIN)/python -m scripts.ui_screenshots --out docs

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

# Run from DAGSTER_HOME: started in the repository root, `dagster dev` warns that the root's
# dagster.yaml (the template copied into DAGSTER_HOME) "will not be used". `dg dev` only loads dg
# projects (pyproject [tool.dg] or dg.toml), not workspace.yaml, so `dagster dev` stays, its
# "superseded by dg dev" notice silenced.
dagster: install  ## the Dagster UI on http://127.0.0.1:3000
	cd $(DAGSTER_HOME) && $(CURDIR)/$(BIN)/python -W 'ignore:Function `dev_command` is superseded:FutureWarning' \
	  -m dagster dev -w $(CURDIR)/workspace.yaml -h 127.0.0.1 -p 3000

mlflow: install  ## the MLflow UI on http://127.0.0.1:5000 over the embedded store (after make demo)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/data/mlflow/mlflow.db -h 127.0.0.1 -p 5000

serve: install  ## the inference service on serving.host:serving.port (after make demo)
	$(BIN)/python -m serving

web: web-install  ## the Next.js app on http://127.0.0.1:3001 against the service (make serve)
	cd web && npm run build && PORT=3001 npm start

up: install web-install  ## the platform as local processes: PostgreSQL-backed Dagster (UI :3000, daemon), MLflow :5000, inference :8000, web :3001; WORKERS=N adds N Celery workers
	$(BIN)/python -m scripts.stack up $(if $(WORKERS),--workers $(WORKERS))

worker: install $(DAGSTER_HOME)/dagster.yaml  ## Celery workers for the pipeline's steps: WORKERS=N (default 2), QUEUES=default,train (Ctrl-C stops them)
	$(BIN)/python -m scripts.stack.workers $(if $(WORKERS),--workers $(WORKERS)) $(if $(QUEUES),--queues $(QUEUES))

down:  ## stop exactly what make up started
	$(or $(wildcard $(BIN)/python),python3) -m scripts.stack down

status:  ## what make up started and whether it still runs
	$(or $(wildcard $(BIN)/python),python3) -m scripts.stack status

sample-data: install
	$(BIN)/ml-platform-sample-data $(if $(FORCE),--force)

data-push: install  ## track data/raw and the annotation exports with DVC and upload them to the dvc: remote
	$(BIN)/python -m scripts.data_versioning push

data-pull: install  ## restore data/raw and the annotation exports from the dvc: remote (after make data-push)
	$(BIN)/python -m scripts.data_versioning pull

bench: install  ## the benchmarks recorded in docs/BENCHMARKS.md
	$(BIN)/python bench/bench_features.py
	$(BIN)/python bench/bench_labeling.py
	$(BIN)/python bench/bench_learning.py
	$(BIN)/python bench/bench_shapes.py
	$(BIN)/python bench/bench_review_queue.py
	$(BIN)/python bench/bench_serving.py
	$(BIN)/python bench/bench_reliability.py
	$(BIN)/python bench/bench_scale_out.py

bench-reliability: install  ## load (1 vs one-per-core workers), hot reload under load and fault figures of the inference service (~5 min)
	$(BIN)/python bench/bench_reliability.py

bench-scale-out: install  ## the Celery scale-out benchmark (in-process against 1 and 2 workers over the local Redis; ~25 min)
	$(BIN)/python bench/bench_scale_out.py

constraints:  ## re-pin constraints.txt from the current .venv (after changing pyproject.toml)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:  ## remove generated data and the Dagster home (keeps .venv, the committed data/*.dvc files and the DVC remote)
	if [ -d data ]; then find data -mindepth 1 -maxdepth 1 ! -name '*.dvc' ! -name dvc-remote -exec rm -rf {} +; fi
	rm -rf .dagster
