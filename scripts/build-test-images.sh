#!/usr/bin/env bash
# Builds the offline images skiff's tests and a registry-less cluster use: a busybox
# image and a pause image, both `docker import`s of a rootfs made from Debian's
# busybox-static. No registry is needed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BUSYBOX_IMAGE=${BUSYBOX_IMAGE:-skiff.local/busybox:latest}
# a pinned tag too: ':latest' means imagePullPolicy Always in Kubernetes, which needs a registry
BUSYBOX_PINNED=${BUSYBOX_PINNED:-skiff.local/busybox:1.36}
PAUSE_IMAGE=${PAUSE_IMAGE:-skiff.local/pause:3.10}

[ -x /bin/busybox ] || apt_install busybox-static
busybox_bin=$(command -v busybox)

have() { docker image inspect "$1" >/dev/null 2>&1; }
if have "$BUSYBOX_IMAGE" && have "$BUSYBOX_PINNED" && have "$PAUSE_IMAGE" && [ "${REBUILD:-0}" != 1 ]; then
  log "test images present: $BUSYBOX_IMAGE $PAUSE_IMAGE"; exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,var/www}
cp "$busybox_bin" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
done
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
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
