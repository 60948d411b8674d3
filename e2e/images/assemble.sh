#!/bin/sh
# Lays out the runtime tree of one tapr service image: the service's and lib's compiled JavaScript (no tests, source
# maps or type declarations) and the production dependencies of that one workspace. Run from the repository root
# after `npm ci` and `npx tsc -b <service>`. The service Dockerfiles run it in their build stage; e2e/test/images.test.ts
# runs it without Docker and starts the result.
# The scheduler's image also needs the etcd binary at /usr/local/bin/etcd: its Dockerfile copies it from the official
# etcd image, node-images.sh from the local cache; it is not part of this tree.
#   usage: sh e2e/images/assemble.sh <sentry|operator|injector|placement|scheduler> <output dir> [node binary path in the image]
set -eu
service="$1"
out="$2"
node_bin="${3:-/nodejs/bin/node}"
case "$service" in sentry|operator|injector|placement|scheduler) ;; *) echo "unknown service: $service" >&2; exit 2 ;; esac
[ -f "$service/dist/src/main.js" ] || { echo "$service/dist/src/main.js is missing: run npx tsc -b $service first" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
# npm needs every workspace's package.json to install from the lock file; only lib and the service are kept.
cp package.json package-lock.json "$out/"
for workspace in lib sentry operator injector placement scheduler; do
  mkdir -p "$out/$workspace"
  cp "$workspace/package.json" "$out/$workspace/"
done
(cd "$out" && npm ci --omit=dev --workspace="@tapr/$service" --no-audit --no-fund --ignore-scripts --loglevel=error)
for workspace in sentry operator injector placement scheduler; do
  [ "$workspace" = "$service" ] || rm -rf "${out:?}/$workspace"
done
cp -R lib/dist "$out/lib/dist"
cp -R "$service/dist" "$out/$service/dist"
rm -rf "$out/lib/dist/test" "$out/lib/dist/src/testing" "$out/$service/dist/test"
find "$out" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.tsbuildinfo' -o -name '*.test.js' \) -type f -delete
find "$out/node_modules" \( -name '*.md' -o -name '*.ts' -o -name '*.markdown' \) -type f -delete

# /<service> is the command Dapr's chart runs; it loads the service's ES module entry point.
printf '#!%s\nimport("/app/%s/dist/src/main.js");\n' "$node_bin" "$service" > "$out/launcher"
chmod 0755 "$out/launcher"
