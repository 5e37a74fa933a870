#!/usr/bin/env bash
# Several simulated hosts on this machine, as root, for multi-node tests:
#
#   scripts/hosts.sh up N            hosts h1..hN (idempotent; up twice is fine)
#   scripts/hosts.sh down            everything below removed (fine when nothing is up)
#   scripts/hosts.sh list            one line per host: name ip docker-socket netns
#   scripts/hosts.sh exec hK -- CMD  run CMD in hK's network namespace, DOCKER_HOST set
#   scripts/hosts.sh kill hK         power hK off: SIGKILL everything in it, drop its link
#
# Host k is a network namespace skiff-hK joined by a veth pair (skh-hK <-> eth0) to the
# bridge skiffbr0 (10.99.0.1/24) in the host namespace; it has 10.99.0.(10+k)/24, a default
# route via 10.99.0.1 and its own dockerd (own data root, exec root, socket, docker0 on
# 172.31.k.0/24, the offline test images loaded). The host namespace forwards and
# masquerades 10.99.0.0/24 through iptables chains of our own (SKIFF-HOSTS-*). dockerd is
# started with `nsenter --net=` and never `ip netns exec`, which would remount /sys and
# hide the cgroup mounts (TOOLCHAIN.md, "Several nodes on one machine").
# State: /var/lib/skiff-hosts/hK (data root), /run/skiff-hosts/hK (exec root, socket,
# pidfile); dockerd logs in /var/log/skiff/hosts/ (kept after down).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

BRIDGE=skiffbr0
BRIDGE_IP=10.99.0.1
NET=10.99.0.0/24
NAT_CHAIN=SKIFF-HOSTS
FWD_CHAIN=SKIFF-HOSTS-FWD
DATA=/var/lib/skiff-hosts
RUN=/run/skiff-hosts
LOGS=/var/log/skiff/hosts
IMAGES=(skiff.local/busybox:1.36 skiff.local/pause:3.10)
MAX_HOSTS=200

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

host_ip() { echo "10.99.0.$((10 + $1))"; }
sock() { echo "unix://$RUN/h$1/docker.sock"; }
k_of() { [[ "$1" =~ ^h([0-9]+)$ ]] || die "not a host name: $1 (want h1, h2, ...)"; echo "${BASH_REMATCH[1]}"; }
hdocker() { local k=$1; shift; docker -H "$(sock "$k")" "$@"; }
dockerd_ready() { [ -S "$RUN/h$1/docker.sock" ] && timeout 5 docker -H "$(sock "$1")" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# the k of every host that exists in any form (netns, veth, state dir)
existing_hosts() {
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^skiff-h\([0-9]\{1,\}\)$/\1/p'
    ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: skh-h\([0-9]\{1,\}\)[@:].*/\1/p'
    for d in "$DATA"/h* "$RUN"/h*; do [ -d "$d" ] && basename "$d" | sed -n 's/^h\([0-9]\{1,\}\)$/\1/p'; done
    true
  } | sort -un
}

# pids whose network namespace is the netns skiff-hK (dockerd, containerd, shims, agents,
# hostNetwork containers), excluding ourselves
pids_in_netns() {
  local ino pid
  ino=$(stat -L -c %i "/run/netns/skiff-h$1" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$ino" ] && echo "$pid"
  done
  return 0
}

# pids whose command line names this host's state dirs (containerd shims, whatever netns)
pids_of_state() {
  local pid
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    [[ "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" =~ ($RUN|$DATA)/h$1(/|\ |$) ]] && echo "$pid"
  done
  return 0
}

is_docker_proc() { case "$(cat "/proc/$1/comm" 2>/dev/null)" in dockerd|containerd|containerd-shim*|docker-proxy|runc) return 0;; esac; return 1; }

wait_gone() { # wait_gone SECONDS PID... ; true when all exited
  local deadline=$((SECONDS + $1)); shift
  while [ $SECONDS -lt "$deadline" ]; do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# ---------- host namespace: bridge, forwarding, NAT ----------

net_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  # (no `| grep -q` under pipefail: grep's early exit would fail the pipeline)
  [[ "$(ip addr show dev "$BRIDGE")" == *"inet $BRIDGE_IP/24 "* ]] || ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -qw net.ipv4.ip_forward=1
  # the host dockerd sets FORWARD's policy to DROP; bridged traffic between hosts goes
  # through FORWARD too when br_netfilter is loaded: accept everything on our bridge
  iptables -w -N "$FWD_CHAIN" 2>/dev/null || iptables -w -F "$FWD_CHAIN"
  iptables -w -A "$FWD_CHAIN" -i "$BRIDGE" -j ACCEPT
  iptables -w -A "$FWD_CHAIN" -o "$BRIDGE" -j ACCEPT
  iptables -w -C FORWARD -j "$FWD_CHAIN" 2>/dev/null || iptables -w -I FORWARD 1 -j "$FWD_CHAIN"
  iptables -w -t nat -N "$NAT_CHAIN" 2>/dev/null || iptables -w -t nat -F "$NAT_CHAIN"
  # only what leaves the machine: traffic bridged between hosts also passes POSTROUTING
  # (br_netfilter) and must keep its addresses, as on a real switch (pod IPs across hosts)
  iptables -w -t nat -A "$NAT_CHAIN" -s "$NET" ! -d "$NET" ! -o "$BRIDGE" -j MASQUERADE
  iptables -w -t nat -C POSTROUTING -j "$NAT_CHAIN" 2>/dev/null || iptables -w -t nat -I POSTROUTING 1 -j "$NAT_CHAIN"
}

net_down() {
  while iptables -w -D FORWARD -j "$FWD_CHAIN" 2>/dev/null; do :; done
  iptables -w -F "$FWD_CHAIN" 2>/dev/null || true
  iptables -w -X "$FWD_CHAIN" 2>/dev/null || true
  while iptables -w -t nat -D POSTROUTING -j "$NAT_CHAIN" 2>/dev/null; do :; done
  iptables -w -t nat -F "$NAT_CHAIN" 2>/dev/null || true
  iptables -w -t nat -X "$NAT_CHAIN" 2>/dev/null || true
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
}

# ---------- one host ----------

host_net_up() {
  local k=$1 ns=skiff-h$1 veth=skh-h$1 ip
  ip=$(host_ip "$k")
  [ -e "/run/netns/$ns" ] || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  [[ "$(ip -n "$ns" addr show dev eth0)" == *"inet $ip/24 "* ]] || ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via "$BRIDGE_IP"
  # dockerd turns ip_forward on in its namespace; containers need it before the first pod
  nsenter --net="/run/netns/$ns" sysctl -qw net.ipv4.ip_forward=1
}

dockerd_start() {
  local k=$1
  dockerd_ready "$k" && return 0
  local pidf="$RUN/h$k/docker.pid"
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi # starting
  mkdir -p "$DATA/h$k/docker" "$RUN/h$k/exec" "$LOGS"
  rm -f "$RUN/h$k/docker.sock" "$pidf"
  # setsid + nohup: the daemon outlives this script and whoever ran it
  nohup setsid nsenter --net="/run/netns/skiff-h$k" dockerd \
    --data-root "$DATA/h$k/docker" --exec-root "$RUN/h$k/exec" \
    -H "$(sock "$k")" --pidfile "$pidf" \
    --iptables=true --ip-forward=true --bip "172.31.$k.1/24" \
    --live-restore=false --log-level "${SKIFF_DOCKERD_LOG_LEVEL:-warn}" \
    >>"$LOGS/h$k-dockerd.log" 2>&1 </dev/null &
}

dockerd_wait() {
  local k=$1 deadline=$((SECONDS + 60))
  until dockerd_ready "$k"; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$LOGS/h$k-dockerd.log" >&2 || true; die "dockerd of h$k did not become ready (log: $LOGS/h$k-dockerd.log)"; }
    sleep 0.1
  done
}

images_present() { local k=$1; hdocker "$k" image inspect "${IMAGES[@]}" >/dev/null 2>&1; }

# SIGKILL everything of host k (its processes, containers) but keep its netns and state
host_kill() {
  local k=$1 pids=()
  mapfile -t pids < <(pids_in_netns "$k"; pids_of_state "$k")
  [ ${#pids[@]} -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null || true
  wait_gone 10 "${pids[@]}" || true
  runc_cleanup "$k"
}

# containers whose shim died with the daemon keep running: runc knows them
runc_cleanup() {
  local k=$1 root
  for root in "$RUN/h$k/exec/runtime-runc/moby"; do
    [ -d "$root" ] || continue
    for id in $(runc --root "$root" list -q 2>/dev/null); do
      runc --root "$root" kill "$id" KILL >/dev/null 2>&1 || true
      runc --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
}

umount_under() {
  local dir=$1 points
  for _ in 1 2 3; do
    points=$(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
    [ -n "$points" ] || return 0
    while read -r m; do umount -l "$m" 2>/dev/null || true; done <<<"$points"
  done
}

host_down() {
  local k=$1 pids=() others=() daemons=()
  mapfile -t pids < <(pids_in_netns "$k")
  for p in "${pids[@]}"; do if is_docker_proc "$p"; then daemons+=("$p"); else others+=("$p"); fi; done
  # agents (and anything else started in the namespace) first, so nothing recreates pods
  if [ ${#others[@]} -gt 0 ]; then
    kill -TERM "${others[@]}" 2>/dev/null || true
    wait_gone 5 "${others[@]}" || kill -KILL "${others[@]}" 2>/dev/null || true
  fi
  if dockerd_ready "$k"; then
    local ids
    ids=$(hdocker "$k" ps -aq 2>/dev/null || true)
    # SIGKILL-fast removal: these are throwaway hosts
    [ -n "$ids" ] && timeout 60 docker -H "$(sock "$k")" rm -f -v $ids >/dev/null 2>&1 || true
  fi
  local pidf="$RUN/h$k/docker.pid"
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    local dpid; dpid=$(cat "$pidf")
    kill -TERM "$dpid" 2>/dev/null || true
    wait_gone 20 "$dpid" || kill -KILL "$dpid" 2>/dev/null || true
  fi
  host_kill "$k"
  umount_under "$RUN/h$k"
  umount_under "$DATA/h$k"
  rm -rf "$RUN/h$k" "$DATA/h$k"
  if ip link show "skh-h$k" >/dev/null 2>&1; then ip link del "skh-h$k" 2>/dev/null || true; fi
  if [ -e "/run/netns/skiff-h$k" ]; then ip netns del "skiff-h$k"; fi
}

# ---------- commands ----------

list() {
  local k
  for k in $(existing_hosts); do
    printf '%s %s %s %s\n' "h$k" "$(host_ip "$k")" "$(sock "$k")" "skiff-h$k"
  done
}

summary() {
  local k state
  printf '%-5s %-12s %-42s %-10s %s\n' HOST ADDRESS DOCKER_HOST NETNS DOCKERD
  for k in $(existing_hosts); do
    if dockerd_ready "$k"; then state="up (pid $(cat "$RUN/h$k/docker.pid" 2>/dev/null))"; else state=down; fi
    printf '%-5s %-12s %-42s %-10s %s\n' "h$k" "$(host_ip "$k")" "$(sock "$k")" "skiff-h$k" "$state"
  done
  printf 'bridge %s %s/24 in the host namespace; run: %s exec hK -- CMD\n' "$BRIDGE" "$BRIDGE_IP" "$0"
}

up() {
  local n=$1 k
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le $MAX_HOSTS ] || die "up wants a host count 1..$MAX_HOSTS, got '$n'"
  for t in ip nsenter iptables dockerd docker runc setsid; do command -v "$t" >/dev/null 2>&1 || die "$t is required (iproute2, util-linux, iptables, docker.io)"; done
  local t0=$SECONDS
  # the images come from the host engine: there is no registry
  if ! docker image inspect "${IMAGES[@]}" >/dev/null 2>&1; then
    ensure_docker
    bash "$ROOT/scripts/build-test-images.sh"
  fi
  net_up
  for k in $(seq 1 "$n"); do host_net_up "$k"; dockerd_start "$k"; done
  for k in $(seq 1 "$n"); do dockerd_wait "$k"; done
  local need=()
  for k in $(seq 1 "$n"); do images_present "$k" || need+=("$k"); done
  if [ ${#need[@]} -gt 0 ]; then
    local tar; tar=$(mktemp /tmp/skiff-hosts-images.XXXXXX.tar)
    docker save -o "$tar" "${IMAGES[@]}"
    local jobs=()
    for k in "${need[@]}"; do hdocker "$k" load -q -i "$tar" >/dev/null & jobs+=($!); done
    local failed=0
    for j in "${jobs[@]}"; do wait "$j" || failed=1; done
    rm -f "$tar"
    [ $failed = 0 ] || die "loading the test images into the hosts failed"
  fi
  log "hosts h1..h$n up in $((SECONDS - t0)) s"
  summary
}

down() {
  local ks k
  ks=$(existing_hosts)
  for k in $ks; do host_down "$k" & done
  wait
  # a second pass catches what a failed parallel teardown left
  for k in $(existing_hosts); do host_down "$k"; done
  net_down
  rmdir "$RUN" "$DATA" 2>/dev/null || true
  [ -n "$ks" ] && log "hosts down: $(printf 'h%s ' $ks)" || log "no hosts were up"
}

run_exec() {
  local h=$1; shift
  local k; k=$(k_of "$h")
  [ "${1:-}" = -- ] && shift
  [ $# -gt 0 ] || die "exec $h -- CMD..."
  [ -e "/run/netns/skiff-h$k" ] || die "host $h is not up"
  export DOCKER_HOST; DOCKER_HOST=$(sock "$k")
  export SKIFF_HOST_NAME=$h SKIFF_HOST_IP; SKIFF_HOST_IP=$(host_ip "$k")
  exec nsenter --net="/run/netns/skiff-h$k" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) need_root; up "${1:-}" ;;
  down) need_root; down ;;
  list) list ;;
  status) summary ;;
  exec) need_root; [ $# -ge 1 ] || usage; run_exec "$@" ;;
  kill) need_root; [ $# -eq 1 ] || usage; k=$(k_of "$1"); host_kill "$k"; ip link set "skh-h$k" down 2>/dev/null || true; log "$1 killed" ;;
  *) usage ;;
esac
