# The way in: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8686

.DEFAULT_GOAL := help
.PHONY: help install run test lint fmt bench bridges-bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "could not create a virtual environment: install python3-venv (Debian: apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## start every role on the embedded store at http://127.0.0.1:$(PORT)
	$(BIN)/python -m tracardi --role all --port $(PORT)

test: $(STAMP) ## run every test (starts a redis-server when none answers)
	@bash scripts/with-redis.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, ruff format --check, mypy and the import layers
	$(BIN)/ruff check tracardi tests bench examples
	$(BIN)/ruff format --check tracardi tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP) ## format and auto-fix
	$(BIN)/ruff format tracardi tests bench examples
	$(BIN)/ruff check --fix tracardi tests bench examples

bench: $(STAMP) ## throughput and latency of /track against a bare Starlette ceiling (needs wrk)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bridges-bench: $(STAMP) ## queue bridges per broker against each broker's raw consume rate (needs the brokers)
	$(BIN)/python bench/bridges.py $(BENCH_ARGS)

clean: ## remove the virtual environment, caches and local data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis data *.egg-info
