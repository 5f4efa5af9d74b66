# ferryml — the two commands of the README, and the chores around them.
#   make demo   create .venv from the lock (when absent or stale), then run `ferry quickstart`
#   make test   create .venv, then ruff, mypy --strict and pytest
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.ferryml-installed
# Binaries the tests of deploy/ run, taken from Debian's packages (scripts/fetch-debian-tool)
TOOLS := .tools/bin
DEPLOY_TOOLS := $(TOOLS)/promtool $(TOOLS)/prometheus-pushgateway
# Bytecode is compiled once at install: with PYTHONDONTWRITEBYTECODE set (as on CI machines)
# every process would otherwise compile each module it imports from source, every time; a
# serving worker or a shadow process spent half its start-up (7 of 14 s CPU) doing that.

.PHONY: demo test lint typecheck pytest bench format clean-venv tools lock audit

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q -j 0 src
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ferry quickstart

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

tools: $(DEPLOY_TOOLS)

$(TOOLS)/promtool:
	scripts/fetch-debian-tool prometheus usr/bin/promtool $@

$(TOOLS)/prometheus-pushgateway:
	scripts/fetch-debian-tool prometheus-pushgateway usr/bin/prometheus-pushgateway $@

pytest: $(STAMP) tools
	PYSPARK_PYTHON=$(abspath $(BIN)/python) $(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

bench: $(STAMP)
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# Every pinned dependency of both locks against the vulnerabilities PyPI knows of. It needs
# pypi.org's per-version JSON API (https://pypi.org/pypi/NAME/VERSION/json), which the hosted CI
# reaches; a registry mirror that serves only the simple index cannot answer it.
audit: $(STAMP)
	$(BIN)/pip-audit --progress-spinner off --strict --vulnerability-service pypi --disable-pip --no-deps --require-hashes -r requirements.lock
	$(BIN)/pip-audit --progress-spinner off --strict --vulnerability-service pypi --disable-pip --no-deps --require-hashes -r deploy/docker/requirements.lock

# After editing pyproject.toml's dependencies: the development lock, then the containers' runtime
# lock constrained by it (same versions, no dev or spark extras; tests/unit/deploy checks both agree).
lock:
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --extra spark --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile --quiet pyproject.toml --python-version 3.11 --generate-hashes -c requirements.lock -o deploy/docker/requirements.lock

clean-venv:
	rm -rf $(VENV)
