# Targets for the Helm chart, the images and the end-to-end suite. The root Makefile includes this file
# (`include e2e/make.mk`); it relies on the root's TAPR_CACHE_DIR, KUBECTL and lib/testing/versions.env.
HELM := $(TAPR_CACHE_DIR)/bin/helm-$(HELM_VERSION)/helm
CHART_DIR := charts/tapr
CHART_VERSION := $(shell sed -n 's/^version: *//p' $(CHART_DIR)/Chart.yaml)
IMAGE_REGISTRY ?= ghcr.io/tapr
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' $(CHART_DIR)/Chart.yaml)
DOCKER ?= docker
TAPR_SERVICES := sentry operator injector placement scheduler

.PHONY: images $(addprefix image-,$(TAPR_SERVICES)) chart-lint chart-package e2e-typecheck e2e e2e-k3d

# One image per service, built from the repository root: <IMAGE_REGISTRY>/<service>:<IMAGE_TAG>.
images: $(addprefix image-,$(TAPR_SERVICES))
$(addprefix image-,$(TAPR_SERVICES)): image-%:
	$(DOCKER) build -f $*/Dockerfile -t $(IMAGE_REGISTRY)/$*:$(IMAGE_TAG) .

# helm lint with default values and with HA, both strict (warnings fail).
chart-lint: binaries
	$(HELM) lint $(CHART_DIR) --strict
	$(HELM) lint $(CHART_DIR) --strict --set global.ha.enabled=true

# A chart archive with the CRDs resolved from crds/ (charts/tapr/crds is a link): dist/charts/tapr-<version>.tgz.
chart-package: binaries
	mkdir -p dist/charts
	$(HELM) package $(CHART_DIR) --destination dist/charts

# Type-checks the e2e suite (jest runs it through ts-jest without type checks; e2e/ is not a tsc -b workspace).
e2e-typecheck: build
	npx tsc -p e2e

# The e2e suite on the local target (CI): chart tests, the CRD upgrade on a cluster of its own, the four services
# run as local processes against the local API server, and the image layout.
e2e: build binaries e2e-typecheck
	npm run jest -- e2e/ --selectProjects integration

# The same suite against k3d (needs Docker and k3d): cluster, images, helm install, assertions. See docs/install.md.
e2e-k3d: build binaries
	bash e2e/k3d/run.sh
