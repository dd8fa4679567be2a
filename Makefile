# The interface: `make demo`, `make test`, `make bench`, `make stop`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
SUPERSET_VENV := .venv-superset
SPARK_VENV := .venv-spark
DATA_DIR ?= data
DEMO_DAYS ?= 35
DEMO_SEED ?= 42
# the demo ends yesterday, so freshness checks and "today" on the dashboards make sense
DEMO_START ?= $(shell date -u -d "-$(DEMO_DAYS) days" +%F)
DAGSTER_PORT ?= 3000
export CALLCENTER_DATA_DIR := $(abspath $(DATA_DIR))

.PHONY: help setup system-deps demo test lint bench stop clean

help:
	@echo "make demo   set everything up, run simulated data -> warehouse -> checks -> Superset"
	@echo "make test   set everything up, run ruff, sqlfluff and the whole pytest suite"
	@echo "make bench  benchmarks (writes bench/results/*.json and BENCHMARKS.md)"
	@echo "make stop   stop the Dagster UI and Superset started by make demo"

## --- setup ---------------------------------------------------------------------------------
setup: system-deps $(VENV)/.installed $(SUPERSET_VENV)/.installed $(SPARK_VENV)/.installed

system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  echo "installing Debian chromium and a CJK font (browser tests, dashboard screenshots in 中文)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; fi
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"

# --compile-bytecode: every pipeline step is a fresh process; with PYTHONDONTWRITEBYTECODE set (as on
# these machines) each one would otherwise recompile what it imports (GX or pandas: seconds per step).
$(VENV)/.installed: pyproject.toml uv.lock
	$(UV) sync --frozen -p 3.11 --quiet --compile-bytecode
	@touch $@

$(SUPERSET_VENV)/.installed: dashboards/superset/requirements.txt
	$(UV) venv -p 3.11 --quiet --allow-existing $(SUPERSET_VENV)
	$(UV) pip install -p $(SUPERSET_VENV)/bin/python --quiet --compile-bytecode -r $<
	@touch $@

$(SPARK_VENV)/.installed: dbt/spark/requirements.txt
	$(UV) venv -p 3.11 --quiet --allow-existing $(SPARK_VENV)
	$(UV) pip install -p $(SPARK_VENV)/bin/python --quiet -r $<
	@touch $@

## --- the two commands ----------------------------------------------------------------------
demo: setup
	$(BIN)/callcenter simulate --days $(DEMO_DAYS) --start $(DEMO_START) --seed $(DEMO_SEED) --if-empty
	$(BIN)/callcenter build --demo
	$(BIN)/callcenter serve --background
	@$(MAKE) --no-print-directory dagster-ui
	@echo
	@echo "Superset:  http://127.0.0.1:8088   (logins in $(CALLCENTER_DATA_DIR)/secrets/superset_users.txt)"
	@echo "Dagster:   http://127.0.0.1:$(DAGSTER_PORT)"
	@echo "Warehouse: $(CALLCENTER_DATA_DIR)/warehouse/warehouse.duckdb  Serving: $(CALLCENTER_DATA_DIR)/serving/serving.duckdb"
	@echo "Stop both with: make stop"

dagster-ui:
	@mkdir -p $(CALLCENTER_DATA_DIR)/run $(CALLCENTER_DATA_DIR)/dagster_home
	@if [ -f $(CALLCENTER_DATA_DIR)/run/dagster.pid ] && kill -0 $$(cat $(CALLCENTER_DATA_DIR)/run/dagster.pid) 2>/dev/null; then \
	  echo "Dagster UI already running"; else \
	  cp -n dagster_project/dagster.yaml $(CALLCENTER_DATA_DIR)/dagster_home/dagster.yaml 2>/dev/null || true; \
	  DAGSTER_HOME=$(CALLCENTER_DATA_DIR)/dagster_home PATH=$(abspath $(BIN)):$$PATH setsid nohup $(BIN)/dagster dev -m dagster_project.definitions \
	    -h 127.0.0.1 -p $(DAGSTER_PORT) > $(CALLCENTER_DATA_DIR)/run/dagster.log 2>&1 & echo $$! > $(CALLCENTER_DATA_DIR)/run/dagster.pid; \
	  echo "starting the Dagster UI (loading definitions takes 20-120 s) ..."; \
	  for i in $$(seq 300); do curl -sf http://127.0.0.1:$(DAGSTER_PORT)/server_info >/dev/null && break; sleep 1; done; \
	  curl -sf http://127.0.0.1:$(DAGSTER_PORT)/server_info >/dev/null || { echo "Dagster UI did not start: see $(CALLCENTER_DATA_DIR)/run/dagster.log"; exit 1; }; fi

test: setup lint
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt && ../$(BIN)/sqlfluff lint $$(ls -d models tests macros snapshots 2>/dev/null) --processes 2

bench: setup
	$(BIN)/callcenter bench

stop:
	-$(BIN)/callcenter serve --stop
	@# dagster dev stops serving on SIGTERM but its 5 processes then hang (dagster 1.13, seen on these
	@# machines): wait up to 20 s for the process group to go, then kill it
	@if [ -f $(CALLCENTER_DATA_DIR)/run/dagster.pid ]; then \
	  pid=$$(cat $(CALLCENTER_DATA_DIR)/run/dagster.pid); \
	  kill -TERM -- -$$pid 2>/dev/null || kill $$pid 2>/dev/null; \
	  for i in $$(seq 20); do kill -0 -- -$$pid 2>/dev/null || break; sleep 1; done; \
	  kill -KILL -- -$$pid 2>/dev/null; \
	  rm -f $(CALLCENTER_DATA_DIR)/run/dagster.pid; echo "Dagster UI stopped"; fi

clean: stop
	rm -rf $(DATA_DIR) dbt/target dbt/logs
