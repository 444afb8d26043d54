# headframe — the two commands a new user needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help demo serve test lint format graph bench bench-deps install install-dev system-deps system-deps-test clean

help:
	@echo "make demo   - install, migrate an embedded SQLite database under var/, load demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install what tests need (incl. Debian chromium) and run lint and the whole test suite"
	@echo "make bench  - run the benchmarks under bench/"
	@echo "make format - format the code with ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Runtime dependencies from the lock, then headframe itself (editable, so `git pull` needs no reinstall).
# Compiled to bytecode at install: uv does not by default, and where PYTHONDONTWRITEBYTECODE is set (this machine)
# every `headframe` process would compile Django from source again — 5,4 s instead of 3,1 s to start.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml $(VENV)/.installed | $(BIN)/uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-dev.lock
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install system-deps
	$(BIN)/headframe demo --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/headframe serve --host $(HOST) --port $(PORT)

# PDF packs (WeasyPrint) need Debian's Pango; installed with apt-get when missing.
system-deps:
	@ldconfig -p | grep -q libpangoft2-1.0 || { \
		echo "installing Debian Pango for PDF output"; \
		$(SUDO) apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0; }; }

# Browser tests drive Debian's Chromium (never a downloaded browser); PDF checks render pages with pdftoppm.
system-deps-test: system-deps
	@command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 && command -v victoria-metrics >/dev/null 2>&1 || { \
		echo "installing Debian chromium, poppler-utils and victoria-metrics for the browser, PDF and reading-store tests"; \
		$(SUDO) apt-get install -y --no-install-recommends chromium fonts-noto-core poppler-utils victoria-metrics >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y --no-install-recommends chromium fonts-noto-core poppler-utils victoria-metrics; }; }

# The telemetry benchmark compares against InfluxDB 1.x: Debian's influxdb, installed with apt-get when missing
# (the bench starts its own influxd on a temp dir; the package's service plays no part).
bench-deps:
	@command -v influxd >/dev/null 2>&1 || { \
		echo "installing Debian influxdb for the telemetry benchmark"; \
		$(SUDO) apt-get install -y --no-install-recommends influxdb >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y --no-install-recommends influxdb; }; }

# Style, the layers (import-linter: imports point down, transports never import API or views), types (mypy,
# strict on core, org and the alarm engine), and models that match their migrations.
lint: install-dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports --no-cache
	HEADFRAME_SECRET_KEY=lint-only $(BIN)/mypy
	HEADFRAME_SECRET_KEY=lint-only HEADFRAME_DATABASE_URL=sqlite:///:memory: $(BIN)/headframe manage makemigrations --check --dry-run

# headframe's own modules are compiled first too: the tests start many `headframe` processes (serve, ingest).
test: install-dev system-deps-test lint
	$(BIN)/python -m compileall -q src
	$(BIN)/pytest

bench: install-dev bench-deps
	$(BIN)/python -m bench

# The import graph by layer (the arrows `make lint` holds to DESIGN.md's order); --mermaid for a drawing.
graph: install-dev
	$(BIN)/python tools/import_graph.py

format: install-dev
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

clean:
	rm -rf $(VENV) var/static var/screenshots .pytest_cache .ruff_cache
