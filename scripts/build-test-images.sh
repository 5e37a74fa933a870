#!/usr/bin/env bash
# Builds the offline images skiff's tests and a registry-less cluster use: a busybox
# image and a pause image, both `docker import`s of a rootfs made from Debian's
# busybox-static, and a node-client image (this machine's own `node`, the shared
# libraries it links, busybox and scripts/node-client/kube-client.mjs: an in-cluster API
# client that speaks TLS, which busybox's wget cannot). No registry is needed; each image
# is skipped when present (the node-client image when built from the same node and script).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BUSYBOX_IMAGE=${BUSYBOX_IMAGE:-skiff.local/busybox:latest}
# a pinned tag too: ':latest' means imagePullPolicy Always in Kubernetes, which needs a registry
BUSYBOX_PINNED=${BUSYBOX_PINNED:-skiff.local/busybox:1.36}
PAUSE_IMAGE=${PAUSE_IMAGE:-skiff.local/pause:3.10}
NODE_CLIENT_IMAGE=${NODE_CLIENT_IMAGE:-skiff.local/node-client:1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENT_SCRIPT="$ROOT/scripts/node-client/kube-client.mjs"
CLIENT_NODE_SCRIPT="$ROOT/scripts/node-client/client-node-list.mjs"

[ -x /bin/busybox ] || apt_install busybox-static
busybox_bin=$(command -v busybox)

have() { docker image inspect "$1" >/dev/null 2>&1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a busybox rootfs at $1: the applets, /tmp, passwd and group
busybox_rootfs() {
  local root=$1
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,var/www}
  cp "$busybox_bin" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
  done
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

build_busybox_and_pause() {
  if have "$BUSYBOX_IMAGE" && have "$BUSYBOX_PINNED" && have "$PAUSE_IMAGE" && [ "${REBUILD:-0}" != 1 ]; then
    log "test images present: $BUSYBOX_IMAGE $PAUSE_IMAGE"; return 0
  fi
  root="$tmp/rootfs"
  busybox_rootfs "$root"
  echo 'hello from skiff' >"$root/var/www/index.html"

  log "importing $BUSYBOX_IMAGE"
  tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' - "$BUSYBOX_IMAGE" >/dev/null
  docker tag "$BUSYBOX_IMAGE" "$BUSYBOX_PINNED"

  # pause: the sandbox that holds a pod's network namespace; it only has to sleep and exit on SIGTERM.
  proot="$tmp/pause"
  mkdir -p "$proot/bin"
  cp "$busybox_bin" "$proot/bin/busybox"
  ln -s /bin/busybox "$proot/bin/sh"
  log "importing $PAUSE_IMAGE"
  tar -C "$proot" -c . | docker import --change 'ENTRYPOINT ["/bin/busybox","sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]' - "$PAUSE_IMAGE" >/dev/null
  log "built $BUSYBOX_IMAGE, $BUSYBOX_PINNED and $PAUSE_IMAGE"
}

# node-client: busybox plus node and exactly the libraries `ldd` names (and the dynamic
# loader) at their paths, so the binary runs as it does here; kube-client.mjs, and
# client-node-list.mjs bundled with @kubernetes/client-node (the repository's dev
# dependency) by esbuild (vite's) into one file, when both are installed. The label records
# what it was built from: another node, script or client version means a rebuild.
build_node_client() {
  local node_bin; node_bin=$(readlink -f "$(command -v node)")
  local esbuild="$ROOT/node_modules/.bin/esbuild" client_node="$ROOT/node_modules/@kubernetes/client-node/package.json"
  local with_client_node=0
  [ -x "$esbuild" ] && [ -f "$client_node" ] && with_client_node=1
  local stamp; stamp=$( { "$node_bin" --version; uname -m; sha256sum <"$CLIENT_SCRIPT"; sha256sum <"$CLIENT_NODE_SCRIPT"
    if [ $with_client_node = 1 ]; then grep '"version"' "$client_node"; else echo without-client-node; fi; } | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{index .Config.Labels "io.skiff.build"}}' "$NODE_CLIENT_IMAGE" 2>/dev/null)" = "$stamp" ] && [ "${REBUILD:-0}" != 1 ]; then
    log "test image present: $NODE_CLIENT_IMAGE"; return 0
  fi
  local root="$tmp/node-client"
  busybox_rootfs "$root"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib"
  cp "$node_bin" "$root/usr/local/bin/node"
  ln -s /usr/local/bin/node "$root/usr/bin/node"
  local lib
  for lib in $(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # glibc resolves names by files then DNS (cluster DNS from the pod's resolv.conf)
  echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
  cp "$CLIENT_SCRIPT" "$root/usr/local/lib/kube-client.mjs"
  if [ $with_client_node = 1 ]; then
    # esbuild resolves the import from the script's own folder upwards: the repository's node_modules
    "$esbuild" "$CLIENT_NODE_SCRIPT" --bundle --platform=node --format=cjs --minify --log-level=warning \
      --outfile="$root/usr/local/lib/client-node-list.cjs" || die "bundling @kubernetes/client-node failed"
  else
    log "no @kubernetes/client-node or esbuild in $ROOT/node_modules (npm ci): $NODE_CLIENT_IMAGE without client-node-list.cjs"
  fi
  env -i "$(command -v chroot)" "$root" /usr/local/bin/node -e 'require("https")' || die "node does not run in the $NODE_CLIENT_IMAGE rootfs"
  log "importing $NODE_CLIENT_IMAGE"
  tar -C "$root" -c . | docker import --change "LABEL io.skiff.build=$stamp" --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' --change 'CMD ["/bin/sh"]' - "$NODE_CLIENT_IMAGE" >/dev/null
  log "built $NODE_CLIENT_IMAGE ($("$node_bin" --version))"
}

build_busybox_and_pause
build_node_client
