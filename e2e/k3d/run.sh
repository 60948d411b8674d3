#!/usr/bin/env bash
# The k3d e2e target: a k3d cluster shaped like the seed's (one server, three agents), the five tapr images built and
# imported, the chart installed with `helm install`, the e2e assertions (e2e/test/controlPlane.test.ts) run against
# it, then `helm upgrade` (which runs the CRD upgrade Job on a real kubelet). Needs Docker and k3d; `make e2e-k3d`.
# This has not been run on the machines tapr is developed on (they have no Docker) — see docs/install.md.
#
# Environment:
#   TAPR_K3D_CLUSTER   cluster name (default tapr-e2e)
#   TAPR_K3D_KEEP=1    keep the cluster afterwards (default: delete it)
#   TAPR_K3D_HA=1      install with global.ha.enabled=true
#   K3S_IMAGE          k3s image for the nodes (default: k3d's; Kubernetes 1.30 or newer is required)
#   IMAGE_REGISTRY, IMAGE_TAG   names the images get (default tapr.local/<service>:e2e; imported, never pushed)
set -euo pipefail
cd "$(dirname "$0")/../.."

cluster="${TAPR_K3D_CLUSTER:-tapr-e2e}"
registry="${IMAGE_REGISTRY:-tapr.local}"
tag="${IMAGE_TAG:-e2e}"
namespace="dapr-system"
source lib/testing/versions.env
cache="${TAPR_CACHE_DIR:-$HOME/.cache/tapr}"
helm="$cache/bin/helm-$HELM_VERSION/helm"
kubectl="$cache/bin/kube-$KUBE_VERSION/kubectl"

for tool in docker k3d; do
  command -v "$tool" >/dev/null || { echo "$tool is required for the k3d target (the local target needs neither: make e2e)" >&2; exit 1; }
done
[ -x "$helm" ] && [ -x "$kubectl" ] || bash lib/testing/build-binaries.sh all

work="$(mktemp -d)"
kubeconfig="$work/kubeconfig"
cleanup() {
  status=$?
  if [ "$status" -ne 0 ] && [ -f "$kubeconfig" ]; then
    echo "--- control plane state after the failure ---" >&2
    KUBECONFIG="$kubeconfig" "$kubectl" get pods,svc,lease -n "$namespace" -o wide >&2 || true
    for app in dapr-sentry dapr-operator dapr-sidecar-injector dapr-placement-server; do
      KUBECONFIG="$kubeconfig" "$kubectl" logs -n "$namespace" -l "app=$app" --tail=50 --prefix >&2 || true
    done
  fi
  if [ "${TAPR_K3D_KEEP:-0}" != 1 ]; then k3d cluster delete "$cluster" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

echo "==> k3d cluster $cluster (1 server, 3 agents)"
k3d cluster create "$cluster" --agents 3 --wait --timeout 240s ${K3S_IMAGE:+--image "$K3S_IMAGE"} --kubeconfig-update-default=false
k3d kubeconfig get "$cluster" > "$kubeconfig"
export KUBECONFIG="$kubeconfig"
"$kubectl" version

echo "==> images $registry/<service>:$tag"
make -f Makefile -f e2e/make.mk images IMAGE_REGISTRY="$registry" IMAGE_TAG="$tag"
k3d image import -c "$cluster" "$registry/sentry:$tag" "$registry/operator:$tag" "$registry/injector:$tag" "$registry/placement:$tag" "$registry/scheduler:$tag"

values=(--set "global.registry=$registry" --set "global.tag=$tag" --set global.imagePullPolicy=IfNotPresent)
[ "${TAPR_K3D_HA:-0}" = 1 ] && values+=(--set global.ha.enabled=true)

echo "==> helm install tapr into $namespace"
"$helm" install tapr charts/tapr --namespace "$namespace" --create-namespace "${values[@]}" --wait --timeout 5m
"$kubectl" get pods -n "$namespace" -o wide

echo "==> e2e assertions against k3d"
TAPR_E2E_TARGET=k3d TAPR_E2E_KUBECONFIG="$kubeconfig" TAPR_E2E_NAMESPACE="$namespace" \
  npm run jest -- e2e/test/controlPlane.test.ts --selectProjects integration

echo "==> helm upgrade (the CRD upgrade Job runs on a real kubelet)"
"$helm" upgrade tapr charts/tapr --namespace "$namespace" "${values[@]}" --wait --timeout 5m
"$helm" history tapr --namespace "$namespace"
managers="$("$kubectl" get crd components.dapr.io --show-managed-fields -o jsonpath='{.metadata.managedFields[*].manager}')"
echo "components.dapr.io field managers: $managers"
case " $managers " in *" tapr-crd-upgrade "*) ;; *) echo "the CRD upgrade Job did not apply the CRDs" >&2; exit 1 ;; esac

echo "==> k3d e2e passed"
