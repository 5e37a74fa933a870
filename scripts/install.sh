#!/usr/bin/env bash
# Installs skiff on this Debian 12 machine, as root, the way k3s's install.sh does.
# Idempotent: running it again with the same settings changes nothing; with new settings
# it rewrites the configuration and restarts the daemon.
#
#   install.sh server [--advertise-address IP] [--tls-san NAME]... [--datastore-endpoint URLS]
#                     [--token TOKEN | --token-file FILE] [-- SERVER FLAGS...]
#   install.sh agent  --server URL (--token TOKEN | --token-file FILE) [--node-ip IP]
#                     [--node-name NAME] [--netns NS] [--docker-host SOCK] [-- AGENT FLAGS...]
#   install.sh etcd   --name NAME --ip IP [--join https://MEMBER:2379] [--ca-dir DIR] [--netns NS]
#   install.sh uninstall [--purge]
#
# Environment (the flags above win): SKIFF_ADVERTISE_ADDRESS, SKIFF_SERVER_ARGS (extra server
# flags); SKIFF_TOKEN or SKIFF_TOKEN_FILE (the server's <data-dir>/token: agents join with it,
# and so does a second server on the same --datastore-endpoint); SKIFF_URL, SKIFF_NODE_IP, SKIFF_NODE_NAME,
# SKIFF_AGENT_ARGS (extra agent flags), SKIFF_NETNS (run the agent in that network
# namespace, e.g. a scripts/hosts.sh host skiff-h1), SKIFF_DOCKER_HOST (its Docker socket).
# Flags the script does not know are passed to the daemon unchanged.
#
# What it does: Docker Engine from Debian (docker.io, agent only) when absent, enabled and
# started; Node.js >= 20; a copy of this checkout in SKIFF_INSTALL_DIR (/opt/skiff), its npm
# dependencies and build (SKIFF_INSTALL_DIR=<this checkout> runs in place, SKIFF_SKIP_BUILD=1
# uses the dist/ already there); the daemon's flags in /etc/skiff/skiff-{server,agent}.env;
# systemd units skiff-server.service / skiff-agent.service (Restart=always; the agent with
# KillMode=process so pods survive agent restarts). Without systemd as the init system
# (containers, CI, scripts/hosts.sh hosts) or with SKIFF_NO_SYSTEMD=1 it starts the daemon
# with nohup instead: pid files in /run/skiff, logs in /var/log/skiff.
#
# uninstall stops and removes both daemons, units and configuration and the installed copy;
# where the agent ran (its Docker engine and network namespace, from skiff-agent.env) the
# pods' containers, the Docker network "skiff", the agent's iptables chains (SKIFF-*) and
# the routes in the cluster CIDR (SKIFF_CLUSTER_CIDR, 10.42.0.0/16) that are not directly
# connected; pods keep running until then (KillMode=process). --purge also removes the state
# (/var/lib/skiff: cluster store, certificates, tokens, emptyDir volumes) and logs.
#
# etcd installs one TLS member of an etcd cluster for several servers (scripts/install-etcd.sh
# says how); uninstall stops and removes it too.
#
# Paths for tests: SKIFF_CONFIG_DIR (/etc/skiff), SKIFF_DATA_DIR (/var/lib/skiff),
# SKIFF_RUN_DIR (/run/skiff), SKIFF_LOG_DIR (/var/log/skiff), SKIFF_UNIT_DIR (/etc/systemd/system).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)

INSTALL_DIR=${SKIFF_INSTALL_DIR:-/opt/skiff}
CONFIG_DIR=${SKIFF_CONFIG_DIR:-/etc/skiff}
DATA_DIR=${SKIFF_DATA_DIR:-/var/lib/skiff}
RUN_DIR=${SKIFF_RUN_DIR:-/run/skiff}
LOG_DIR=${SKIFF_LOG_DIR:-/var/log/skiff}
UNIT_DIR=${SKIFF_UNIT_DIR:-/etc/systemd/system}
CLUSTER_CIDR=${SKIFF_CLUSTER_CIDR:-10.42.0.0/16}

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

have_systemd() { [ "${SKIFF_NO_SYSTEMD:-0}" != 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# value of the last `--flag V` or `--flag=V` in the words given
last_flag() {
  local flag=$1 v='' prev=''; shift
  for w in "$@"; do
    [ "$prev" = "$flag" ] && v=$w
    case "$w" in "$flag"=*) v=${w#*=} ;; esac
    prev=$w
  done
  printf '%s' "$v"
}

# write a file only when its content changes; true (0) when it changed
write_if_changed() {
  local path=$1 mode=$2 content=$3
  if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then return 1; fi
  mkdir -p "$(dirname "$path")"
  (umask 077; printf '%s\n' "$content" >"$path.tmp")
  chmod "$mode" "$path.tmp"
  mv -f "$path.tmp" "$path"
  return 0
}

# ---------- the build ----------

install_build() {
  ensure_node
  if [ "$(cd "$INSTALL_DIR" 2>/dev/null && pwd -P)" != "$(cd "$CHECKOUT" && pwd -P)" ]; then
    log "installing skiff from $CHECKOUT into $INSTALL_DIR"
    mkdir -p "$INSTALL_DIR"
    # keep node_modules: npm only reinstalls when package-lock.json changed
    find "$INSTALL_DIR" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
    tar -C "$CHECKOUT" --exclude=./node_modules --exclude=./dist --exclude=./.git \
      --exclude=./.vagrant --exclude=./.vagrant-skiff --exclude=./.data -cf - . | tar -C "$INSTALL_DIR" -xf -
    touch "$INSTALL_DIR/.skiff-installed"
  fi
  if [ "${SKIFF_SKIP_BUILD:-0}" = 1 ]; then
    [ -f "$INSTALL_DIR/dist/controlplane/main.js" ] && [ -f "$INSTALL_DIR/dist/agent/main.js" ] \
      || die "SKIFF_SKIP_BUILD=1 but $INSTALL_DIR/dist is not built"
  else
    ensure_build "$INSTALL_DIR"
  fi
}

# ---------- daemons: systemd or nohup ----------

render_unit() { # render_unit NAME PREFIX
  sed -e "s|@ROOT@|$INSTALL_DIR|g" -e "s|@CONFIG@|$CONFIG_DIR|g" -e "s|@NODE@|$(command -v node)|g" -e "s|@PREFIX@|$2|g" \
    "$CHECKOUT/scripts/systemd/$1.service"
}

pid_running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() {
  local pidf=$1 pid
  pid_running "$pidf" || { rm -f "$pidf"; return 0; }
  pid=$(cat "$pidf")
  log "stopping $(basename "$pidf" .pid) (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidf"
}

# start_daemon NAME CHANGED ARGSVAR PREFIX... -- COMMAND...
# (the daemon's flags come from the env file, as with systemd's EnvironmentFile)
start_daemon() {
  local name=$1 changed=$2; shift 2
  if have_systemd; then
    systemctl daemon-reload
    systemctl enable "$name" >/dev/null 2>&1
    if [ "$changed" = 1 ]; then
      log "(re)starting $name.service"
      systemctl restart "$name"
    else
      systemctl start "$name"
    fi
    sleep 2
    systemctl is-active --quiet "$name" || { journalctl -u "$name" -n 30 --no-pager >&2 || true; die "$name.service is not running"; }
    return 0
  fi
  local pidf="$RUN_DIR/$name.pid" log="$LOG_DIR/$name.log"
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if pid_running "$pidf"; then
    if [ "$changed" = 0 ]; then log "$name already running (pid $(cat "$pidf"))"; return 0; fi
    stop_pidfile "$pidf"
  fi
  log "no systemd (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo '?')${SKIFF_NO_SYSTEMD:+, SKIFF_NO_SYSTEMD set}): starting $name with nohup; pid file $pidf, log $log"
  # setsid: a session of its own, so it outlives this script and its terminal
  nohup setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$pidf"
  sleep 2
  pid_running "$pidf" || { tail -n 30 "$log" >&2 || true; rm -f "$pidf"; die "$name exited at once; see $log"; }
}

stop_daemon() {
  local name=$1
  if have_systemd && [ -f "$UNIT_DIR/$name.service" ]; then
    log "stopping and disabling $name.service"
    systemctl disable --now "$name" >/dev/null 2>&1 || true
  fi
  stop_pidfile "$RUN_DIR/$name.pid"
}

env_get() { # env_get FILE VAR: a value from one of our env files
  [ -f "$1" ] || return 0
  sed -n "s/^$2=\"\\{0,1\\}\\([^\"]*\\)\"\\{0,1\\}\$/\\1/p" "$1" | tail -n 1
}

# ---------- etcd (several servers) ----------

# shellcheck source=install-etcd.sh
. "$CHECKOUT/scripts/install-etcd.sh"

# ---------- server ----------

install_server() {
  local advertise=${SKIFF_ADVERTISE_ADDRESS:-} token=${SKIFF_TOKEN:-} token_file=${SKIFF_TOKEN_FILE:-} extra=()
  # shellcheck disable=SC2206 # word splitting of the extra flags is the point
  [ -n "${SKIFF_SERVER_ARGS:-}" ] && extra+=($SKIFF_SERVER_ARGS)
  while [ $# -gt 0 ]; do
    case "$1" in
      --advertise-address) advertise=${2:?--advertise-address IP}; shift 2 ;;
      --advertise-address=*) advertise=${1#*=}; shift ;;
      --token) token=${2:?--token TOKEN}; shift 2 ;;
      --token=*) token=${1#*=}; shift ;;
      --token-file) token_file=${2:?--token-file FILE}; shift 2 ;;
      --token-file=*) token_file=${1#*=}; shift ;;
      --) shift; extra+=("$@"); break ;;
      *) extra+=("$1"); shift ;;
    esac
  done
  need_root
  install_build
  local args=(--data-dir "$DATA_DIR/server")
  [ -n "$advertise" ] && args+=(--advertise-address "$advertise")
  # the cluster's token (a second server on the same --datastore-endpoint joins with the
  # first's <data-dir>/token): kept in a 0600 file, never on the command line
  if [ -z "$token" ] && [ -n "$token_file" ]; then token=$(tr -d '[:space:]' <"$token_file"); fi
  mkdir -p "$CONFIG_DIR"
  local changed=0
  if [ -n "$token" ]; then
    write_if_changed "$CONFIG_DIR/server-token" 600 "$token" && changed=1
    args+=(--token-file "$CONFIG_DIR/server-token")
  else
    [ -f "$CONFIG_DIR/server-token" ] && rm -f "$CONFIG_DIR/server-token" && changed=1
  fi
  args+=("${extra[@]}")
  local data; data=$(last_flag --data-dir "${args[@]}")
  for a in "${args[@]}"; do [[ "$a" != *[[:space:]\"\'\$\\]* ]] || die "server flag '$a': spaces, quotes, \$ and \\ are not supported in flags"; done
  write_if_changed "$CONFIG_DIR/skiff-server.env" 600 "# skiff-server flags, written by $CHECKOUT/scripts/install.sh
SKIFF_SERVER_ARGS=\"${args[*]}\"
SKIFF_SERVER_DATA_DIR=\"$data\"" && changed=1
  if have_systemd; then
    write_if_changed "$UNIT_DIR/skiff-server.service" 644 "$(render_unit skiff-server '')" && changed=1
  fi
  start_daemon skiff-server "$changed" "$(command -v node)" "$INSTALL_DIR/dist/controlplane/main.js" "${args[@]}"

  # ready: the server writes its kubeconfig once it listens
  local kc="$data/admin.kubeconfig" url=''
  for _ in $(seq 1 300); do
    if [ -f "$kc" ]; then
      url=$(sed -n 's/^ *server: *//p' "$kc" | head -n 1)
      [ -n "$url" ] && curl -sf --max-time 2 --cacert "$data/tls/server-ca.crt" "$url/readyz" >/dev/null 2>&1 && break
    fi
    sleep 0.2
    url=''
  done
  [ -n "$url" ] || die "skiff-server did not become ready (log: ${LOG_DIR}/skiff-server.log or journalctl -u skiff-server)"
  cat <<MSG

skiff-server is running at $url
  join token:  $data/token
  kubeconfig:  $kc        (export KUBECONFIG=$kc; kubectl get nodes)
Join an agent on another machine with:
  SKIFF_URL=$url SKIFF_TOKEN=\$(cat $data/token) bash scripts/install.sh agent
MSG
  local datastore; datastore=$(last_flag --datastore-endpoint "${args[@]}")
  [ -z "$datastore" ] || cat <<MSG
Add another server (same datastore, its own empty data dir) with:
  SKIFF_TOKEN=\$(cat $data/token) bash scripts/install.sh server --datastore-endpoint $datastore
MSG
}

# ---------- agent ----------

install_agent() {
  local url=${SKIFF_URL:-} token=${SKIFF_TOKEN:-} token_file=${SKIFF_TOKEN_FILE:-} node_ip=${SKIFF_NODE_IP:-}
  local node_name=${SKIFF_NODE_NAME:-} netns=${SKIFF_NETNS:-} docker_host=${SKIFF_DOCKER_HOST:-} extra=()
  # shellcheck disable=SC2206
  [ -n "${SKIFF_AGENT_ARGS:-}" ] && extra+=($SKIFF_AGENT_ARGS)
  while [ $# -gt 0 ]; do
    case "$1" in
      --server|--url) url=${2:?$1 URL}; shift 2 ;;
      --token) token=${2:?--token TOKEN}; shift 2 ;;
      --token-file) token_file=${2:?--token-file FILE}; shift 2 ;;
      --node-ip) node_ip=${2:?--node-ip IP}; shift 2 ;;
      --node-name) node_name=${2:?--node-name NAME}; shift 2 ;;
      --netns) netns=${2:?--netns NAME}; shift 2 ;;
      --docker-host) docker_host=${2:?--docker-host SOCKET}; shift 2 ;;
      --*=*) case "${1%%=*}" in
               --server|--url) url=${1#*=} ;; --token) token=${1#*=} ;; --token-file) token_file=${1#*=} ;;
               --node-ip) node_ip=${1#*=} ;; --node-name) node_name=${1#*=} ;; --netns) netns=${1#*=} ;;
               --docker-host) docker_host=${1#*=} ;; *) extra+=("$1") ;;
             esac; shift ;;
      --) shift; extra+=("$@"); break ;;
      *) extra+=("$1"); shift ;;
    esac
  done
  [ -n "$url" ] || die "the agent needs the server URL: SKIFF_URL=https://SERVER:6443 or --server"
  if [ -z "$token" ] && [ -n "$token_file" ]; then token=$(tr -d '[:space:]' <"$token_file"); fi
  [ -n "$token" ] || die "the agent needs the join token (the server's <data-dir>/token): SKIFF_TOKEN, SKIFF_TOKEN_FILE, --token or --token-file"
  need_root
  local prefix=()
  if [ -n "$netns" ]; then
    [ -e "/run/netns/$netns" ] || die "network namespace $netns does not exist (/run/netns/$netns)"
    # nsenter --net, never `ip netns exec`: that remounts /sys and hides the cgroup mounts
    prefix=("$(command -v nsenter)" "--net=/run/netns/$netns")
  fi
  if [ -n "$docker_host" ]; then
    apt_install docker.io iptables ca-certificates curl
    docker -H "$docker_host" info >/dev/null 2>&1 || die "no Docker engine answers on $docker_host"
  else
    ensure_docker
  fi
  install_build
  mkdir -p "$CONFIG_DIR"
  local changed=0
  write_if_changed "$CONFIG_DIR/agent-token" 600 "$token" && changed=1
  local args=(--server "$url" --token-file "$CONFIG_DIR/agent-token" --data-dir "$DATA_DIR/agent")
  [ -n "$node_name" ] && args+=(--node-name "$node_name")
  [ -n "$node_ip" ] && args+=(--node-ip "$node_ip")
  [ -n "$docker_host" ] && args+=(--docker-host "$docker_host")
  args+=("${extra[@]}")
  for a in "${args[@]}"; do [[ "$a" != *[[:space:]\"\'\$\\]* ]] || die "agent flag '$a': spaces, quotes, \$ and \\ are not supported in flags"; done
  local data; data=$(last_flag --data-dir "${args[@]}")
  local dh; dh=$(last_flag --docker-host "${args[@]}")
  write_if_changed "$CONFIG_DIR/skiff-agent.env" 600 "# skiff-agent flags, written by $CHECKOUT/scripts/install.sh
SKIFF_AGENT_ARGS=\"${args[*]}\"
SKIFF_AGENT_DATA_DIR=\"$data\"
SKIFF_NETNS=\"$netns\"
SKIFF_DOCKER_HOST=\"$dh\"" && changed=1
  if have_systemd; then
    write_if_changed "$UNIT_DIR/skiff-agent.service" 644 "$(render_unit skiff-agent "${prefix[*]:+${prefix[*]} }")" && changed=1
  fi
  # can we reach the server at all? (a warning only: it may come up later)
  if ! "${prefix[@]}" curl -sk --max-time 5 "${url%%,*}/cacerts" >/dev/null 2>&1; then
    log "warning: $url does not answer from ${netns:-this host} yet; the agent keeps retrying"
  fi
  start_daemon skiff-agent "$changed" "${prefix[@]}" "$(command -v node)" --max-semi-space-size=2 --max-old-space-size=192 \
    "$INSTALL_DIR/dist/agent/main.js" "${args[@]}"
  cat <<MSG

skiff-agent is running${netns:+ in network namespace $netns} (node ${node_name:-$(hostname | tr 'A-Z' 'a-z')}), joined to $url
  flags: $CONFIG_DIR/skiff-agent.env    logs: $(have_systemd && echo "journalctl -u skiff-agent" || echo "$LOG_DIR/skiff-agent.log")
MSG
}

# ---------- uninstall ----------

# remove our iptables chains (SKIFF-*; never scripts/hosts.sh's SKIFF-HOSTS*, never anyone's KUBE-*) in
# the current namespace of "$@" (a prefix such as nsenter --net=...)
remove_chains() {
  local table saved ours script
  for table in filter nat mangle; do
    saved=$("$@" iptables-save -t "$table" 2>/dev/null) || continue
    ours=$(printf '%s\n' "$saved" | sed -n 's/^:\(SKIFF-[A-Za-z0-9_-]*\) .*/\1/p' | grep -v '^SKIFF-HOSTS' || true)
    [ -n "$ours" ] || continue
    local re; re=$(printf '%s\n' "$ours" | paste -sd'|')
    # unhook: every rule in a chain not ours that jumps (or goes) to one of ours
    script=$(printf '%s\n' "$saved" | grep -E "^-A " | grep -E -- " -[jg] ($re)( |\$)" \
      | grep -vE "^-A ($re) " | sed 's/^-A /-D /' || true)
    script+=$'\n'$(printf '%s\n' "$ours" | sed 's/^/-F /')
    script+=$'\n'$(printf '%s\n' "$ours" | sed 's/^/-X /')
    log "removing iptables chains ($table${SKIFF_NETNS_LABEL:+, $SKIFF_NETNS_LABEL}): $(printf '%s ' $ours)"
    printf '*%s\n%s\nCOMMIT\n' "$table" "$(printf '%s\n' "$script" | grep -v '^$')" | "$@" iptables-restore -w -n \
      || log "warning: could not remove every chain in table $table"
  done
}

# routes to pod subnets the agent added (host-gw via other nodes): everything in the
# cluster CIDR that is not directly connected (proto kernel)
remove_routes() {
  local r dest
  while IFS= read -r r; do
    [ -n "$r" ] || continue
    case " $r " in *" proto kernel "*) continue ;; esac
    dest=${r%% *}
    log "removing route $r"
    "$@" ip route del $r 2>/dev/null || "$@" ip route del "$dest" 2>/dev/null || true
  done < <("$@" ip -4 route show root "$CLUSTER_CIDR" 2>/dev/null)
}

remove_pods() { # remove_pods DOCKER_HOST
  local dk=(docker); [ -n "$1" ] && dk=(docker -H "$1")
  "${dk[@]}" info >/dev/null 2>&1 || { log "no Docker engine answers${1:+ on $1}: pod containers left alone"; return 0; }
  local ids
  ids=$({ "${dk[@]}" ps -aq --filter label=io.skiff.node; "${dk[@]}" ps -aq --filter label=io.kubernetes.docker.type; } | sort -u)
  if [ -n "$ids" ]; then
    log "removing $(echo "$ids" | wc -l) pod containers"
    # shellcheck disable=SC2086
    "${dk[@]}" rm -f -v $ids >/dev/null 2>&1 || true
  fi
  if "${dk[@]}" network inspect skiff >/dev/null 2>&1; then
    log "removing Docker network skiff"
    "${dk[@]}" network rm skiff >/dev/null 2>&1 || log "warning: Docker network skiff is still in use"
  fi
}

uninstall() {
  local purge=0
  for a in "$@"; do case "$a" in --purge) purge=1 ;; *) die "uninstall: unknown argument $a" ;; esac; done
  need_root
  local agent_env="$CONFIG_DIR/skiff-agent.env" server_env="$CONFIG_DIR/skiff-server.env"
  local netns dh agent_data server_data was_agent=0
  [ -f "$agent_env" ] && was_agent=1
  netns=$(env_get "$agent_env" SKIFF_NETNS); dh=$(env_get "$agent_env" SKIFF_DOCKER_HOST)
  agent_data=$(env_get "$agent_env" SKIFF_AGENT_DATA_DIR); server_data=$(env_get "$server_env" SKIFF_SERVER_DATA_DIR)
  stop_daemon skiff-agent
  stop_daemon skiff-server
  uninstall_etcd "$purge"
  # the agent's leftovers are cleaned where its configuration says it ran (Docker engine,
  # network namespace); without that configuration there is nothing to go by
  if [ $was_agent = 1 ]; then
    local prefix=()
    if [ -n "$netns" ]; then
      if [ -e "/run/netns/$netns" ]; then prefix=(nsenter "--net=/run/netns/$netns"); else log "network namespace $netns is gone: nothing to clean in it"; netns=-; fi
    fi
    remove_pods "$dh"
    if [ "$netns" != - ]; then
      SKIFF_NETNS_LABEL=${netns:+netns $netns} remove_chains "${prefix[@]}"
      remove_routes "${prefix[@]}"
    fi
  fi
  rm -f "$UNIT_DIR/skiff-agent.service" "$UNIT_DIR/skiff-server.service"
  have_systemd && systemctl daemon-reload || true
  rm -f "$agent_env" "$server_env" "$CONFIG_DIR/agent-token" "$CONFIG_DIR/server-token" "$RUN_DIR/skiff-agent.pid" "$RUN_DIR/skiff-server.pid"
  rmdir "$CONFIG_DIR" "$RUN_DIR" 2>/dev/null || true
  if [ -f "$INSTALL_DIR/.skiff-installed" ] && [ "$(cd "$INSTALL_DIR" && pwd -P)" != "$(cd "$CHECKOUT" && pwd -P)" ]; then
    log "removing $INSTALL_DIR"
    rm -rf "$INSTALL_DIR"
  fi
  if [ "$purge" = 1 ]; then
    log "purging state: ${server_data:-$DATA_DIR/server} ${agent_data:-$DATA_DIR/agent} $LOG_DIR/skiff-*.log"
    rm -rf "${server_data:-$DATA_DIR/server}" "${agent_data:-$DATA_DIR/agent}"
    rm -f "$LOG_DIR/skiff-server.log" "$LOG_DIR/skiff-agent.log"
    rmdir "$DATA_DIR" "$LOG_DIR" "$CONFIG_DIR" 2>/dev/null || true
  else
    log "kept the state in ${server_data:-$DATA_DIR/server} ${agent_data:-$DATA_DIR/agent} (uninstall --purge removes it)"
  fi
  log "skiff uninstalled"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  server) install_server "$@" ;;
  agent) install_agent "$@" ;;
  etcd) install_etcd "$@" ;;
  uninstall) uninstall "$@" ;;
  -h|--help|help|'') usage ;;
  *) die "unknown command $cmd (server, agent, etcd or uninstall)" ;;
esac
