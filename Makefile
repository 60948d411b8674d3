# tapr — the commands a developer runs. Each target does its own set-up (npm install, build, test binaries) when needed.
SHELL := /bin/bash
include lib/testing/versions.env
TAPR_CACHE_DIR ?= $(HOME)/.cache/tapr
KUBECTL := $(TAPR_CACHE_DIR)/bin/kube-$(KUBE_VERSION)/kubectl
CLUSTER_DIR ?= .tapr/cluster
NODE ?=
export TAPR_CACHE_DIR

.PHONY: all install binaries system-packages build test test-unit test-integration demo cluster-up cluster-down cluster-status clean

all: build

# npm dependencies, reinstalled when the lock file changes.
node_modules/.tapr-installed: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@
install: node_modules/.tapr-installed

# kube-apiserver, kube-controller-manager, kubectl, etcd, helm, Dapr's daprd, and the real node's kubelet,
# kube-proxy, kube-scheduler and CoreDNS, built from their Go modules (first run: minutes).
binaries:
	bash lib/testing/build-binaries.sh all

# Debian packages the e2e suites and the demo run: redis-server (with redis-cli), and for the real node
# (docs/real-node.md) containerd, runc, the CNI plugins, iptables and umoci. Installed when missing, as root.
system-packages:
	@missing=""; \
	for check in redis-server:redis-server redis-cli:redis-server containerd:containerd runc:runc \
	             /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables umoci:umoci ip:iproute2; do \
	  what=$${check%%:*}; pkg=$${check##*:}; \
	  if [ -e "$$what" ] || command -v "$$what" >/dev/null; then :; else missing="$$missing $$pkg"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)" >&2; exit 1; fi; \
	fi

build: install
	npm run build

# The whole test suite: unit tests and integration tests against a real local API server.
test: build binaries system-packages e2e-typecheck
	npm run jest

test-unit: build
	npm run jest -- --selectProjects unit

test-integration: build binaries system-packages
	npm run jest -- --selectProjects integration

# The main job: the seed's walkthrough (e2e/demo/demo.ts) on the local control plane — the chart, tapr's five
# services, Redis and the statestore Component, two annotated apps with the stock daprd. Runs until Ctrl-C;
# NODE=1 runs it on a real node instead (helm install, real pods; docs/real-node.md).
# DEMO_FLAGS=--exit ends it after the walkthrough.
DEMO_FLAGS ?=
demo: cluster-up system-packages
	npx tsx --tsconfig e2e/tsconfig.json e2e/demo/demo.ts --cluster-dir $(CLUSTER_DIR) $(if $(filter 1,$(NODE)),--node) $(DEMO_FLAGS)

# NODE=1 adds a real node (containerd, kubelet, kube-proxy, kube-scheduler, CoreDNS; root): docs/real-node.md.
cluster-up: build binaries
	TAPR_NODE=$(NODE) node lib/dist/src/testing/cli.js up $(CLUSTER_DIR)

cluster-down:
	@if [ -f lib/dist/src/testing/cli.js ]; then node lib/dist/src/testing/cli.js down $(CLUSTER_DIR); fi

cluster-status:
	node lib/dist/src/testing/cli.js status $(CLUSTER_DIR)

clean:
	npx tsc -b --clean

# Images, chart checks and the end-to-end suite (charts/tapr, e2e/).
include e2e/make.mk
