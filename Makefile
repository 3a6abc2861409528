# Every dev task of Plattr. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# The CDK's jsii runtime warns on every start that Node 20 nears its end of life.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEMPLATE_APPS := gitops-repo-template/apps

.PHONY: help setup demo test test-lowest unit e2e lint bench crds golden

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[controller,dev,cdk]'
	touch $@

setup: $(STAMP) ## create .venv and install plattr with every extra

demo: $(STAMP) ## render the gitops-repo-template apps to stdout (settings: its plattr-settings.yaml)
	@$(BIN)/plattr render $(TEMPLATE_APPS)

unit: $(STAMP) ## unit and contract tests only (no services, no `make tools` binaries)
	$(BIN)/pytest tests/unit tests/contract -m 'not needs_tools'

test: $(STAMP) tools ## the whole test suite (builds the stack's tools first)
	$(BIN)/pytest

# The lowest versions pyproject.toml allows of each direct dependency (uv's lowest-direct
# resolution), in a venv of their own, under the tests that use those dependencies' APIs:
# the controller's and the dashboard's unit tests, the controller's integration tests on the
# real stack. CI runs it after `make test`, so a lower bound the code has outgrown fails there.
LOWEST := .venv-lowest
LOWEST_TESTS := tests/unit/controller tests/unit/dashboard tests/integration/test_controller.py \
	tests/integration/test_controller_setup.py tests/integration/test_provision_database.py \
	tests/integration/test_provision_storage.py tests/integration/test_provision_auth.py

$(LOWEST)/.installed: pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet 'uv>=0.5,<1'
	rm -rf $(LOWEST)
	UV_PYTHON_DOWNLOADS=never $(BIN)/uv venv --quiet --python $(PYTHON) $(LOWEST)
	$(BIN)/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct \
		-e '.[controller,dev]'
	touch $@

test-lowest: $(LOWEST)/.installed tools ## the controller's tests on the lowest dependency versions allowed
	$(LOWEST)/bin/pytest $(LOWEST_TESTS)

e2e: $(STAMP) tools ## the GitOps flow end to end on the local stack, through real Argo CD too (`make test` runs it)
	$(BIN)/pytest tests/e2e

lint: $(STAMP) ## ruff, mypy --strict, import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

crds: $(STAMP) ## regenerate the CRD files from the models
	$(BIN)/plattr crds --split charts/plattr/crds

golden: $(STAMP) ## regenerate the golden renders of the template apps
	$(BIN)/python -m tests.support.golden --update

bench: $(STAMP) ## benchmarks: figures and ratios against in-run baselines
	$(BIN)/python -m benchmarks

# --- Reliability and security (tests/reliability, docs/reliability.md) -------------------
# `make test` (and so CI) runs the same suite with the load test at a small scale (60 apps,
# 12 previews); this runs the load at full scale (500 apps, 100 previews), about 8 more
# minutes on 2 cores. Figures: test-artifacts/reliability-figures.json
.PHONY: reliability
reliability: $(STAMP) tools ## faults, kills, leader loss, isolation, fuzzing, hostile input, full load
	PLATTR_LOAD=1 $(BIN)/pytest tests/reliability

# --- AWS CDK app (cdk/, see cdk/README.md) ---------------------------------------------
# The CLI pinned in cdk/package.json synthesizes both deployment modes offline (no AWS
# credentials, no Docker), with sample values for the flags each mode needs, each both
# without and with the account and region that a deploy names (`-c account=... -c region=...`).
CDK_CLI := cdk/node_modules/.package-lock.json
CDK_SYNTH := cd cdk && npx --no-install cdk synth --quiet
CDK_FLAGS := -c baseDomain=nonprod.example.dev -c hostedZoneId=Z0123456789ABC -c githubOrg=example
CDK_BYO_FLAGS := -c eksClusterName=my-eks-cluster \
	-c kubectlRoleArn=arn:aws:iam::123456789012:role/my-kubectl-role \
	-c oidcProviderArn=arn:aws:iam::123456789012:oidc-provider/oidc.eks.ca-central-1.amazonaws.com/id/EXAMPLE \
	-c auroraEndpoint=my-aurora.cluster-xxx.ca-central-1.rds.amazonaws.com \
	-c auroraSgId=sg-0123456789abcdef0
CDK_ENV_FLAGS := -c account=123456789012 -c region=ca-central-1

.PHONY: cdk-synth
$(CDK_CLI): cdk/package.json cdk/package-lock.json
	cd cdk && npm ci --no-audit --no-fund

cdk-synth: $(STAMP) $(CDK_CLI) ## synthesize the CDK app, both modes, with and without account/region
	$(CDK_SYNTH) -o cdk.out/infra -c useInfraStack=true $(CDK_FLAGS)
	$(CDK_SYNTH) -o cdk.out/byo $(CDK_FLAGS) $(CDK_BYO_FLAGS)
	$(CDK_SYNTH) -o cdk.out/infra-env -c useInfraStack=true $(CDK_FLAGS) $(CDK_ENV_FLAGS)
	$(CDK_SYNTH) -o cdk.out/byo-env $(CDK_FLAGS) $(CDK_BYO_FLAGS) $(CDK_ENV_FLAGS)

# --- Local stack (tools/, devstack/): real processes, no Docker, no cluster -----------------
# `make tools` builds kube-apiserver, etcd, ... from the registries into ~/.cache/plattr (a
# second run only checks); `make up` runs the whole stack in the background under .plattr/,
# Argo CD included, whose ApplicationSets deploy the apps of a GitOps repo it serves on
# loopback (seeded from gitops-repo-template); `make down` stops it and removes .plattr/.
# `PLATTR_ENVIRONMENTS_FILE=<file> make up` runs it with your environments declaration (a file
# with an `environments:` list, e.g. your chart values; docs/environments.md).
STATE_DIR := .plattr
DEVSTACK := $(BIN)/python -m devstack

.PHONY: system-deps tools up down
system-deps: ## Debian packages the local stack needs (idempotent)
	@tools/install-system-deps.sh

tools: system-deps ## build/fetch the stack's binaries into ~/.cache/plattr (tools/build.sh)
	@tools/build.sh

up: $(STAMP) tools ## start the local stack and Argo CD in .plattr/, and the controller
	@$(DEVSTACK) up --state-dir $(STATE_DIR)
	@$(MAKE) --no-print-directory controller-up
	@echo "dashboard: http://127.0.0.1:9090/ (the template's apps; \`plattr status\` reads the same API)"
	@echo "GitOps: git clone $$($(DEVSTACK) gitops-url --state-dir $(STATE_DIR)); a push to main" \
		"syncs apps/staging and apps/uat; production waits for \`argocd app sync production-<app>\`"

down: $(STAMP) ## stop the controller and the local stack, remove .plattr/
	@$(MAKE) --no-print-directory controller-down
	@$(DEVSTACK) down --state-dir $(STATE_DIR)

# The controller against the stack: the stack's environment (.plattr/env) plus the
# template's platform settings; dummy OAuth clients for the identity providers the template
# apps name (Keycloak never calls them here). Its pid in .plattr/controller.pid.
KUBECTL_STACK := kubectl --kubeconfig $(STATE_DIR)/kubeconfig
CONTROLLER_ENV := BASE_DOMAIN=apps.example.com AWS_ACCOUNT_ID=123456789012 \
	OIDC_ISSUER=oidc.eks.local/id/PLATTR METRICS_HOST=127.0.0.1 METRICS_PORT=9090
DEV_PROVIDERS := google github microsoft gitlab bitbucket facebook

.PHONY: controller-up controller-down
controller-up: $(STAMP) ## start plattr-controller against the running local stack
	@$(KUBECTL_STACK) create namespace plattr-system --dry-run=client -o yaml \
		| $(KUBECTL_STACK) apply --server-side -f - >/dev/null
	@$(KUBECTL_STACK) -n plattr-system create secret generic plattr-identity-providers \
		$(foreach p,$(DEV_PROVIDERS),--from-literal=$(p).clientId=dev-$(p) --from-literal=$(p).clientSecret=dev-only-$(p)) \
		--dry-run=client -o yaml | $(KUBECTL_STACK) apply --server-side -f - >/dev/null
	@set -a && source $(STATE_DIR)/env && set +a; $(CONTROLLER_ENV) \
		nohup $(BIN)/plattr-controller >>$(STATE_DIR)/logs/controller.log 2>&1 </dev/null & \
		echo $$! > $(STATE_DIR)/controller.pid
	@echo "controller: http://127.0.0.1:9090/metrics, log $(STATE_DIR)/logs/controller.log"

controller-down: ## stop the controller started by controller-up (it hands its lease back)
	@if [ -f $(STATE_DIR)/controller.pid ]; then \
		kill $$(cat $(STATE_DIR)/controller.pid) 2>/dev/null || true; rm -f $(STATE_DIR)/controller.pid; fi
