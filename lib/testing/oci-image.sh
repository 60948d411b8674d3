#!/usr/bin/env bash
# Builds an OCI image archive from a directory tree, without a daemon or a registry (umoci from Debian), for the
# local node's containerd (`ctr images import`). The tree becomes the image's single layer.
#
#   [OCI_USER=uid:gid] oci-image.sh <reference name:tag> <rootfs dir> <out.tar> [entrypoint arg...]
# OCI_USER is the image's USER (numeric, so the kubelet can enforce runAsNonRoot); OCI_ENV, space-separated
# NAME=value pairs, its environment.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 <name:tag> <rootfs dir> <out.tar> [entrypoint...]" >&2; exit 2; }
ref="$1" rootfs="$2" out="$3"; shift 3
command -v umoci >/dev/null || { echo "umoci is missing: apt-get install umoci" >&2; exit 1; }
tag="${ref##*:}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umoci init --layout "$work/layout"
umoci new --image "$work/layout:$tag"
umoci unpack --image "$work/layout:$tag" "$work/bundle" >/dev/null
cp -a "$rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$work/layout:$tag" "$work/bundle"
config=(--architecture amd64 --os linux)
[[ -n "${OCI_USER:-}" ]] && config+=(--config.user "$OCI_USER")
for pair in ${OCI_ENV:-}; do config+=(--config.env "$pair"); done
for arg in "$@"; do config+=(--config.entrypoint "$arg"); done
umoci config --image "$work/layout:$tag" "${config[@]}"
# umoci names the image by its tag alone; containerd's import takes the whole reference from this annotation.
node -e 'const fs=require("fs");const f=process.argv[1];const i=JSON.parse(fs.readFileSync(f,"utf8"));
for(const m of i.manifests)m.annotations={...m.annotations,"org.opencontainers.image.ref.name":process.argv[2]};
fs.writeFileSync(f,JSON.stringify(i))' "$work/layout/index.json" "$ref"
mkdir -p "$(dirname "$out")"
tar -C "$work/layout" -cf "$out.tmp" . && mv "$out.tmp" "$out"
