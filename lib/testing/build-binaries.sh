#!/usr/bin/env bash
# Builds the binaries of the local test control plane from their Go modules:
#   kube-apiserver, kube-controller-manager, kubectl  (k8s.io/kubernetes, staging modules replaced)
#   etcd                                              (go.etcd.io/etcd/server/v3, its own module)
#   helm                                              (helm.sh/helm/v3, its own module)
#   daprd                                             (github.com/dapr/dapr, the stock sidecar, a few components)
#   kubelet, kube-proxy, kube-scheduler, pause, coredns  (the real node: k8s.io/kubernetes again, coredns's module)
# Each lands in $TAPR_CACHE_DIR/bin/<name>-<version>/ and is skipped when already there,
# so only the first run on a machine pays for the build. Versions come from versions.env.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
CACHE="${TAPR_CACHE_DIR:-$HOME/.cache/tapr}"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-binaries] %s\n' "$*" >&2; }
field() { # field <json> <dotted.path> — reads one value from `go mod download -json` output
  node -e 'let v=JSON.parse(process.argv[1]);for(const k of process.argv[2].split("."))v=v?.[k];process.stdout.write(String(v??""))' "$1" "$2"
}

build_kube() {
  local out="$CACHE/bin/kube-$KUBE_VERSION"
  if [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" && -x "$out/kubectl" ]]; then
    log "kubernetes $KUBE_VERSION: cached in $out"; return
  fi
  local staging="v0.${KUBE_VERSION#v1.}" work="$CACHE/build/kube-$KUBE_VERSION"
  mkdir -p "$work" "$out"
  log "kubernetes $KUBE_VERSION: resolving module (staging modules at $staging)"
  local info gomod commit
  info="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")"
  gomod="$(field "$info" GoMod)"
  commit="$(field "$info" Origin.Hash)"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` line of upstream's go.mod becomes `k8s.io/x => k8s.io/x <staging>`.
  {
    echo "module tapr.local/kube-binaries"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}' | sort -u
    echo ")"
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo "	k8s.io/kubernetes/cmd/kubectl"
    echo ")"
  } > "$work/go.mod"
  log "kubernetes: $(grep -c ' => ' "$work/go.mod") staging replaces; tidying"
  (cd "$work" && go mod tidy)
  log "kubernetes: compiling kube-apiserver, kube-controller-manager, kubectl (the long part)"
  (cd "$work" && go build -trimpath -ldflags "$(kube_ldflags "$commit")" -o "$out/" \
     k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  echo "$commit" > "$out/.commit"
  log "kubernetes $KUBE_VERSION: built into $out"
}

# -X flags that stamp the Kubernetes version into a binary (component-base and client-go both keep one).
kube_ldflags() {
  local commit="$1" minor="${KUBE_VERSION#v1.}" ld="-s -w" key pkg
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for key in "gitVersion=$KUBE_VERSION" "gitMajor=1" "gitMinor=$minor" "gitCommit=$commit" \
               "gitTreeState=clean" "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
      ld="$ld -X $pkg.$key"
    done
  done
  printf '%s' "$ld"
}

# Cluster DNS for the node's pods: CoreDNS's own module builds with `go install` (no replaces).
build_coredns() {
  local out="$CACHE/bin/coredns-$COREDNS_VERSION"
  if [[ -x "$out/coredns" ]]; then log "coredns $COREDNS_VERSION: cached in $out"; return; fi
  mkdir -p "$out"
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  log "coredns $COREDNS_VERSION: built into $out"
}

# A node's binaries from the same module and version as the API server: kubelet, kube-proxy, kube-scheduler
# (docs/real-node.md). Built in the Kubernetes work module; -mod=mod adds the sums they need beyond the three above.
build_node() {
  local out="$CACHE/bin/kube-$KUBE_VERSION"
  build_coredns
  if [[ -x "$out/kubelet" && -x "$out/kube-proxy" && -x "$out/kube-scheduler" && -f "$out/pause-image.tar" ]]; then
    log "kubernetes $KUBE_VERSION node binaries: cached in $out"; return
  fi
  build_kube
  local work="$CACHE/build/kube-$KUBE_VERSION" commit
  commit="$(cat "$out/.commit" 2>/dev/null || field "$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")" Origin.Hash)"
  log "kubernetes: compiling kubelet, kube-proxy, kube-scheduler"
  (cd "$work" && go build -mod=mod -trimpath -ldflags "$(kube_ldflags "$commit")" -o "$out/" \
     k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler)
  # The pod sandbox's `pause` (registry.k8s.io/pause), compiled from the C source in the same module.
  local pause_src
  pause_src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
  [[ -f "$pause_src" ]] || (cd "$work" && go mod download "k8s.io/kubernetes@$KUBE_VERSION")
  mkdir -p "$work/pause-rootfs"
  gcc -Os -static -DVERSION=tapr -o "$work/pause-rootfs/pause" "$pause_src"
  bash "$here/oci-image.sh" registry.k8s.io/pause:3.10 "$work/pause-rootfs" "$out/pause-image.tar" /pause
  log "kubernetes $KUBE_VERSION node binaries: built into $out"
}

build_etcd() {
  local out="$CACHE/bin/etcd-$ETCD_VERSION"
  if [[ -x "$out/etcd" ]]; then log "etcd $ETCD_VERSION: cached in $out"; return; fi
  local work="$CACHE/build/etcd-$ETCD_VERSION"
  mkdir -p "$work" "$out"
  printf 'module tapr.local/etcd-binary\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n\ntool go.etcd.io/etcd/server/v3\n' \
    "$ETCD_VERSION" > "$work/go.mod"
  (cd "$work" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
  log "etcd $ETCD_VERSION: built into $out"
}

build_helm() {
  local out="$CACHE/bin/helm-$HELM_VERSION"
  if [[ -x "$out/helm" ]]; then log "helm $HELM_VERSION: cached in $out"; return; fi
  mkdir -p "$out"
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  GOBIN="$out" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  log "helm $HELM_VERSION: built into $out"
}

# Dapr's own sidecar, for the end-to-end tests that run the real daprd against tapr. Built from the module zip with
# only the components the tests use: each file in cmd/daprd/components/ registers one component behind the build tags
# `allcomponents || stablecomponents` (which would pull in every cloud SDK), so the chosen files lose that line and
# zz_notag.go (a panic for untagged builds) is removed. DAPRD_REPLACES lists module replaces the pinned version needs
# because the proxy refuses a dependency it asks for (docs/local-cluster.md, "daprd").
DAPRD_COMPONENTS=(state_redis state_in-memory pubsub_redis pubsub_in-memory secretstores_kubernetes
                  nameresolution_kubernetes nameresolution_sqlite)
build_daprd() {
  local out="$CACHE/bin/daprd-$DAPR_VERSION"
  if [[ -x "$out/daprd" ]]; then log "daprd $DAPR_VERSION: cached in $out"; return; fi
  local work="$CACHE/build/daprd-$DAPR_VERSION" info dir commit
  log "daprd $DAPR_VERSION: resolving github.com/dapr/dapr"
  info="$(go mod download -json "github.com/dapr/dapr@$DAPR_VERSION")"
  dir="$(field "$info" Dir)"
  commit="$(field "$info" Origin.Hash)"
  rm -rf "$work" && mkdir -p "$(dirname "$work")" "$out"
  cp -r "$dir" "$work" && chmod -R u+w "$work"
  local replace
  for replace in $DAPRD_REPLACES; do (cd "$work" && go mod edit -replace "$replace"); done
  rm -f "$work/cmd/daprd/components/zz_notag.go"
  local name file
  for name in "${DAPRD_COMPONENTS[@]}"; do
    file="$work/cmd/daprd/components/$name.go"
    [[ -f "$file" ]] || { log "daprd: no component file $name.go in $DAPR_VERSION"; exit 1; }
    sed -i '1{/^\/\/go:build /d}' "$file"
  done
  log "daprd $DAPR_VERSION: compiling with ${DAPRD_COMPONENTS[*]}"
  (cd "$work" && go build -mod=mod -trimpath -o "$out/daprd" \
     -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION#v} -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=$commit -X github.com/dapr/dapr/pkg/buildinfo.gitversion=$DAPR_VERSION" \
     ./cmd/daprd)
  log "daprd $DAPR_VERSION: built into $out"
}

what="${1:-all}"
case "$what" in
  kube) build_kube ;;
  etcd) build_etcd ;;
  helm) build_helm ;;
  daprd) build_daprd ;;
  node) build_node ;;
  all) build_etcd; build_helm; build_kube; build_daprd; build_node ;;
  *) echo "usage: $0 [all|kube|etcd|helm|daprd|node]" >&2; exit 2 ;;
esac
