# Every dev task of Plattr. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEMPLATE_APPS := gitops-repo-template/apps
# The template's example platform settings (in Argo CD they come from the plugin's env).
DEMO_FLAGS := --base-domain apps.example.com --aws-account-id 123456789012

.PHONY: help setup demo test unit lint bench crds golden

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[controller,dev,cdk]'
	touch $@

setup: $(STAMP) ## create .venv and install plattr with every extra

demo: $(STAMP) ## render the gitops-repo-template apps to stdout
	@$(BIN)/plattr render $(TEMPLATE_APPS) $(DEMO_FLAGS)

unit: $(STAMP) ## unit and contract tests only (no services)
	$(BIN)/pytest tests/unit tests/contract

test: $(STAMP) ## the whole test suite
	$(BIN)/pytest

lint: $(STAMP) ## ruff, mypy --strict, import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

crds: $(STAMP) ## regenerate the CRD files from the models
	$(BIN)/plattr crds --split charts/plattr/crds

golden: $(STAMP) ## regenerate the golden renders of the template apps
	$(BIN)/python tests/golden.py --update

bench: $(STAMP) ## benchmarks: figures and ratios against in-run baselines
	$(BIN)/python -m benchmarks
