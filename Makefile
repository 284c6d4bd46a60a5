# The whole set-up is these targets: each bootstraps .venv from the pinned lock on a machine
# that has only python3 and pip.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OLD_DUCKDB := $(VENV)/duckdb-1.1
LANDING   ?= $(or $(WAREHOUSE_LANDING_DIR),data/landing)
WAREHOUSE ?= $(or $(WAREHOUSE_DIR),warehouse)
export DBT_PROFILES_DIR := $(CURDIR)/profiles

.PHONY: run load test test-fast lint lint-python lint-sql format venv generate parse dev docs dashboards bench spark-check java clean validate-metrics

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## make run: build the demo landing zone if there is none, run the whole job, publish serving.duckdb
run: $(STAMP)
	@if [ ! -d "$(LANDING)" ] || [ -z "$$(ls -A "$(LANDING)" 2>/dev/null)" ]; then \
		$(PY) -m orchestration generate --out "$(LANDING)" > /dev/null; \
	fi
	$(PY) -m orchestration run --landing "$(LANDING)" --warehouse "$(WAREHOUSE)"

## make load: only load the landing zone into the raw layer of build.duckdb (and run its gates)
load: $(STAMP)
	$(PY) -m orchestration load --landing "$(LANDING)" --warehouse "$(WAREHOUSE)"

## make test: lint, the semantic layer's configuration (`mf validate-configs`), then the whole test
## suite (what CI runs)
test: lint $(STAMP) $(OLD_DUCKDB)/.installed java validate-metrics
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=25

## make test-fast: the tests that build no warehouse end to end (unit, dbt unit, contract, generator
## tests): a few minutes; everything marked e2e (whole runs, dbt builds, Spark, the browser) is left out
test-fast: $(STAMP) $(OLD_DUCKDB)/.installed
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=10 -m "not e2e"

## make lint: ruff (lint and format check) and mypy on the Python, sqlfluff on the dbt models, the two
## halves side by side (.pre-commit-config.yaml runs the same). `make format` applies ruff's and sqlfluff's fixes.
# sqlfluff renders every model through dbt (profile duckdb) without opening a database: the
# profile's path points into a scratch directory.
LINT_DIR := $(CURDIR)/target/lint
SQLFLUFF := WAREHOUSE_DIR=$(LINT_DIR) WAREHOUSE_DBT_TARGET=duckdb $(VENV)/bin/sqlfluff
SQL_PATHS := models tests/dbt
lint: $(STAMP)
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint-python lint-sql

lint-python: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

lint-sql: $(STAMP)
	@mkdir -p $(LINT_DIR)
	$(SQLFLUFF) lint $(SQL_PATHS)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	@mkdir -p $(LINT_DIR)
	$(SQLFLUFF) fix $(SQL_PATHS)

## make validate-metrics: parse the dbt project and validate the MetricFlow semantic models and metrics
## (models/semantic/); the data-warehouse checks run in tests/e2e/test_generated_run.py on a built warehouse
validate-metrics: $(STAMP)
	$(VENV)/bin/dbt parse --quiet
	$(VENV)/bin/mf validate-configs --skip-dw

# DuckDB 1.1, as old BI tools embed it: the tests open serving.duckdb with it (read-only).
$(OLD_DUCKDB)/.installed: $(STAMP)
	$(PY) -m pip install --quiet --no-deps --target $(OLD_DUCKDB) duckdb==1.1.3
	touch $@

generate: $(STAMP)
	$(PY) -m orchestration generate --out "$(LANDING)" --overwrite

parse: $(STAMP)
	$(VENV)/bin/dbt parse --quiet

## make dev: the Dagster UI on 127.0.0.1:3000 (assets, checks, jobs, schedules, sensors); runs of the
## warehouse queue in DAGSTER_HOME (default $(WAREHOUSE)/dagster_home) and run one at a time
dev: $(STAMP)
	$(PY) -m orchestration dev --landing "$(LANDING)" --warehouse "$(WAREHOUSE)" --host 127.0.0.1 --port 3000

## make dashboards: the seven operator dashboards on http://127.0.0.1:8501 (reads serving.duckdb, read-only)
dashboards: $(STAMP)
	WAREHOUSE_DIR="$(WAREHOUSE)" STREAMLIT_CLIENT_TOOLBAR_MODE=viewer $(VENV)/bin/streamlit run dashboards/app.py \
		--server.address 127.0.0.1 --server.port 8501 --server.headless true --browser.gatherUsageStats false

## make docs: dbt docs and GX Data Docs into $(WAREHOUSE)/docs/ (open docs/dbt/index.html, docs/gx/...)
docs: $(STAMP)
	$(PY) -m orchestration docs --warehouse "$(WAREHOUSE)"

## make bench [SESSIONS=N] [BENCH_ARGS=...]: the warehouse against a hand-written DuckDB script and pandas
## (landing zone generated once per size under data/bench/; figures in data/bench/<N>-42-365d/results.json)
SESSIONS ?= 1000000
bench: $(STAMP)
	$(PY) -m bench --sessions $(SESSIONS) $(BENCH_ARGS)

## make spark-check [SPARK_CHECK_ARGS=...]: the same landing zone (20,000 sessions, one year) built by the
## DuckDB job and by dbt on local Spark, a full build then the daily incremental one; every published table
## compared after each, one line per table (bench/spark_check.py; make test runs it on 2,000 sessions / 31 days:
## tests/spark/test_spark_check.py)
spark-check: $(STAMP) java
	$(PY) -m bench.spark_check $(SPARK_CHECK_ARGS)

# A Java 17+ runtime for Spark: installed with apt-get (openjdk-17-jre-headless) when missing.
java:
	@bash scripts/ensure_java.sh

clean:
	rm -rf $(WAREHOUSE) target logs
