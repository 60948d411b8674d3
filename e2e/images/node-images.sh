#!/usr/bin/env bash
# The images of the chart, and the stock daprd, for the local node (docs/real-node.md), built without Docker or a
# registry: the same runtime trees the Dockerfiles copy (assemble.sh) on a small base made from this machine's node
# binary and the libraries it links, packed as OCI archives by lib/testing/oci-image.sh. The Dockerfiles stay the
# reference for users; these stand in for their distroless runtime stage (same paths, user and entry points).
#
#   bash e2e/images/node-images.sh <out dir> [tag]
# Writes <out dir>/<name>.tar for ghcr.io/tapr/<service>:<tag> (tag: the chart's appVersion; the scheduler's with the
# cached etcd at /usr/local/bin/etcd, as its Dockerfile copies it from the official etcd image), tapr.local/daprd:<ver>,
# and the demo's tapr.local/demo-app:1 (node + e2e/demo/app.mjs) and tapr.local/redis:7 (Debian's redis-server).
set -euo pipefail
out="${1:?usage: $0 <out dir> [tag]}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tag="${2:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' "$root/charts/tapr/Chart.yaml")}"
source "$root/lib/testing/versions.env"
cache="${TAPR_CACHE_DIR:-$HOME/.cache/tapr}"
daprd="$cache/bin/daprd-$DAPR_VERSION/daprd"
[[ -x "$daprd" ]] || { echo "$daprd is missing: bash lib/testing/build-binaries.sh daprd" >&2; exit 1; }
etcd="$cache/bin/etcd-$ETCD_VERSION/etcd"
[[ -x "$etcd" ]] || { echo "$etcd is missing: bash lib/testing/build-binaries.sh etcd" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
# The distroless "nonroot" user of the Dockerfiles, and of Dapr's daprd image.
export OCI_USER=65532:65532

# The base: /nodejs/bin/node (distroless' path) with the shared libraries ldd names, and a nonroot user 65532.
base="$work/base"
mkdir -p "$base/nodejs/bin" "$base/etc" "$base/tmp"
chmod 1777 "$base/tmp"
cp "$(command -v node)" "$base/nodejs/bin/node"
for lib in $(ldd "$(command -v node)" | grep -oE '/[^ ]+'); do
  mkdir -p "$base$(dirname "$lib")" && cp -L "$lib" "$base$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$base/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$base/etc/group"

(cd "$root" && npx tsc -b sentry operator injector placement scheduler)
for service in sentry operator injector placement scheduler; do
  tree="$work/$service"
  cp -a "$base" "$tree"
  (cd "$root" && sh e2e/images/assemble.sh "$service" "$work/$service-app" /nodejs/bin/node)
  mkdir -p "$tree/app"
  cp -a "$work/$service-app/." "$tree/app/"
  mv "$tree/app/launcher" "$tree/$service"
  # The etcd server the scheduler runs with --etcd-embed=true (static; the path its --etcd-binary defaults to).
  if [[ "$service" == scheduler ]]; then
    mkdir -p "$tree/usr/local/bin"
    cp "$etcd" "$tree/usr/local/bin/etcd"
    chmod 0755 "$tree/usr/local/bin/etcd"
  fi
  bash "$root/lib/testing/oci-image.sh" "ghcr.io/tapr/$service:$tag" "$tree" "$out/$service.tar" "/$service"
  echo "image ghcr.io/tapr/$service:$tag → $out/$service.tar"
done

# The stock daprd (static, CGO off) on nothing but its user.
tree="$work/daprd"
mkdir -p "$tree/etc" "$tree/tmp"
cp "$base/etc/passwd" "$base/etc/group" "$tree/etc/"
cp "$daprd" "$tree/daprd"
bash "$root/lib/testing/oci-image.sh" "tapr.local/daprd:${DAPR_VERSION#v}" "$tree" "$out/daprd.tar" /daprd
echo "image tapr.local/daprd:${DAPR_VERSION#v} → $out/daprd.tar"

# The demo's images (make demo NODE=1): its app on the node base, with node on PATH as in node:20-alpine.
tree="$work/demo-app"
cp -a "$base" "$tree"
mkdir -p "$tree/app" && cp "$root/e2e/demo/app.mjs" "$tree/app/app.mjs"
OCI_ENV="PATH=/nodejs/bin:/usr/bin:/bin" bash "$root/lib/testing/oci-image.sh" tapr.local/demo-app:1 "$tree" "$out/demo-app.tar"
echo "image tapr.local/demo-app:1 → $out/demo-app.tar"
# Redis: Debian's redis-server and the libraries it links (absent on this machine: no image).
if command -v redis-server >/dev/null; then
  tree="$work/redis"
  mkdir -p "$tree/etc" "$tree/data" "$tree/usr/bin"
  cp "$base/etc/passwd" "$base/etc/group" "$tree/etc/"
  cp "$(command -v redis-server)" "$tree/usr/bin/redis-server"
  for lib in $(ldd "$(command -v redis-server)" | grep -oE '/[^ ]+'); do
    mkdir -p "$tree$(dirname "$lib")" && cp -L "$lib" "$tree$lib"
  done
  bash "$root/lib/testing/oci-image.sh" tapr.local/redis:7 "$tree" "$out/redis.tar" /usr/bin/redis-server
  echo "image tapr.local/redis:7 → $out/redis.tar"
fi
