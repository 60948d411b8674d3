# tapr — the commands a developer runs. Each target does its own set-up (npm install, build, test binaries) when needed.
SHELL := /bin/bash
include lib/testing/versions.env
TAPR_CACHE_DIR ?= $(HOME)/.cache/tapr
KUBECTL := $(TAPR_CACHE_DIR)/bin/kube-$(KUBE_VERSION)/kubectl
CLUSTER_DIR ?= .tapr/cluster
export TAPR_CACHE_DIR

.PHONY: all install binaries build test test-unit test-integration demo cluster-up cluster-down cluster-status clean

all: build

# npm dependencies, reinstalled when the lock file changes.
node_modules/.tapr-installed: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@
install: node_modules/.tapr-installed

# kube-apiserver, kube-controller-manager, kubectl, etcd and helm built from their Go modules (first run: minutes).
binaries:
	bash lib/testing/build-binaries.sh all

build: install
	npm run build

# The whole test suite: unit tests and integration tests against a real local API server.
test: build binaries e2e-typecheck
	npm run jest

test-unit: build
	npm run jest -- --selectProjects unit

test-integration: build binaries
	npm run jest -- --selectProjects integration

# The main job for now: a local control plane with the dapr.io CRDs, the seed Component applied and read back.
demo: cluster-up
	KUBECONFIG=$(CLUSTER_DIR)/kubeconfig $(KUBECTL) apply -f e2e/manifests/statestore.yaml
	KUBECONFIG=$(CLUSTER_DIR)/kubeconfig $(KUBECTL) get component statestore -n default
	KUBECONFIG=$(CLUSTER_DIR)/kubeconfig $(KUBECTL) get component statestore -n default -o yaml
	@echo "The control plane keeps running: export KUBECONFIG=$(CLUSTER_DIR)/kubeconfig; stop it with: make cluster-down"

cluster-up: build binaries
	node lib/dist/src/testing/cli.js up $(CLUSTER_DIR)

cluster-down:
	@if [ -f lib/dist/src/testing/cli.js ]; then node lib/dist/src/testing/cli.js down $(CLUSTER_DIR); fi

cluster-status:
	node lib/dist/src/testing/cli.js status $(CLUSTER_DIR)

clean:
	npx tsc -b --clean

# Images, chart checks and the end-to-end suite (charts/tapr, e2e/).
include e2e/make.mk
