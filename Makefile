# One way in: every target calls `python -m pipelines <verb>` (Windows users run the same CLI).
# `make help` lists the targets. The environment (.venv) is built from uv.lock on first use.

.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.built

# Run options, passed through only when set: make report RAW_DIR=data/raw/2013-02-01 PERIOD_START=...
RUN_OPTS = $(if $(RAW_DIR),--raw-dir "$(RAW_DIR)") $(if $(PERIOD_START),--period-start $(PERIOD_START)) \
	$(if $(PERIOD_END),--period-end $(PERIOD_END)) $(if $(AS_AT),--as-at $(AS_AT)) \
	$(if $(OUT),--out "$(OUT)") $(if $(DB),--db "$(DB)") $(if $(DQ_DIR),--dq-dir "$(DQ_DIR)") $(if $(THRESHOLD),--threshold $(THRESHOLD)) \
	$(if $(COUNCIL),--council "$(COUNCIL)")

.PHONY: help env bytecode report pdf validate ingest sample bench test check lint clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): uv.lock pyproject.toml
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	python3 -m uv sync --frozen --compile-bytecode --python python3.11
	@touch $(STAMP)

env: $(STAMP) ## Build the Python environment from the lock file (done by every target)

# Python may be told not to write bytecode (PYTHONDONTWRITEBYTECODE, as on the project's machines):
# then every process of a run (the main one and each notebook kernel) compiles the pipeline's
# modules afresh, about 0.4 s of a sample run. compileall writes them; when they are current it is
# a 0.05 s no-op. The library's bytecode is written by uv sync (--compile-bytecode).
bytecode: $(STAMP)
	@$(PY) -m compileall -q pipelines

report: $(STAMP) bytecode ## Run the whole pipeline (RAW_DIR, PERIOD_START, PERIOD_END, AS_AT, OUT, THRESHOLD, COUNCIL)
	$(PY) -m pipelines report $(RUN_OPTS)

pdf: $(STAMP) bytecode ## Print the summary and its annex as one PDF into the report folder (same options as report)
	$(PY) -m pipelines pdf $(RUN_OPTS)

validate: $(STAMP) bytecode ## Ingest and validate only; writes the data quality report
	$(PY) -m pipelines validate $(RUN_OPTS)

ingest: $(STAMP) bytecode ## Load the extracts into DuckDB and print a summary
	$(PY) -m pipelines ingest $(RUN_OPTS)

sample: $(STAMP) ## Regenerate the synthetic sample in data/raw/sample
	$(PY) -m pipelines sample

bench: $(STAMP) bytecode ## Time each stage at 1, 10 and 100x the sample (SCALES=1,10,100)
	$(PY) -m pipelines bench $(if $(SCALES),--scales $(SCALES))

test: $(STAMP) ## Run every test (what CI runs)
	$(PY) -m pipelines test

check: $(STAMP) ## The fast tests while you work: no browser, no subprocess, no full runs
	$(PY) -m pipelines check

lint: $(STAMP) ## Lint and format check with ruff, type check with mypy
	$(PY) -m pipelines lint

# Plain shell, so that deleting outputs never needs (or builds) the environment.
clean: ## Delete the warehouse and reports (never data/raw)
	find data/curated reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	@echo "Deleted the warehouse and reports; data/raw is untouched."
