# The two commands: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
UV := python3 -m uv
VENV := .venv
BIN := $(VENV)/bin

# Optional local overrides (see .env.example); never committed.
-include .env
export

.PHONY: setup demo test down status bench bench-marquez bench-lineage bench-diff clean

setup: $(VENV)/.synced

# Install uv from PyPI if missing, then the locked dependencies (uv.lock) into .venv.
$(VENV)/.synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

demo: setup
	$(BIN)/lakehouse demo

test: setup
	$(BIN)/python -m pytest

down:
	@if [ -x $(BIN)/lakehouse ]; then $(BIN)/lakehouse down; else echo "nothing to stop (no .venv)"; fi

status: setup
	$(BIN)/lakehouse status

bench: setup
	$(BIN)/python -m bench.pipeline_vs_floor
	$(BIN)/python -m bench.partitions_incremental
	$(BIN)/python -m bench.marquez_server
	$(BIN)/python -m bench.lineage_overhead
	$(BIN)/python -m bench.lineage_diff

# The built-in Marquez-compatible server under the load measured on the real Marquez (about 10 minutes).
bench-marquez: setup
	$(BIN)/python -m bench.marquez_server

# The pipeline with lineage on vs off at 5M raw rows, and event delivery latency to Marquez (about 12 minutes).
bench-lineage: setup
	$(BIN)/python -m bench.lineage_overhead

# `lineage diff` on synthetic code locations of 1,000 and 10,000 assets (about 5 minutes).
bench-diff: setup
	$(BIN)/python -m bench.lineage_diff

clean: down
	rm -rf data dbt/target dbt/logs
