# The two quickstart commands (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Install, start an embedded PostgreSQL, migrate, load the demo store on first run, serve the API.
run: install
	$(BIN)/tribe serve --quickstart --dev

## Install and run the whole test suite (DATABASE_URL selects a server; default: embedded PostgreSQL 18).
test: install-test
	$(BIN)/python -m pytest

## Regenerate schema.graphql, the public contract (a test fails when it drifts).
schema: install
	$(BIN)/python -m gql_api.schema > schema.graphql

clean:
	rm -rf $(VENV) .tribe
