#!/usr/bin/env bash
# A single-node skiff cluster on this machine, as root: installs what is missing
# (Docker Engine from Debian, Node.js >= 20), builds skiff, starts skiff-server
# (SQLite state in /var/lib/skiff/server) and prints how to use kubectl.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${SKIFF_DATA:-/var/lib/skiff}
RUN=/run/skiff
LOGS=/var/log/skiff

need_root
ensure_node
ensure_docker
ensure_build "$ROOT"
# the local pause image lets pods start without a registry
bash "$ROOT/scripts/build-test-images.sh"
mkdir -p "$RUN" "$LOGS" "$DATA"

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if running "$RUN/server.pid"; then
  log "skiff-server already running (pid $(cat "$RUN/server.pid"))"
else
  log "starting skiff-server"
  nohup node "$ROOT/dist/controlplane/main.js" --data-dir "$DATA/server" ${SKIFF_SERVER_ARGS:-} >>"$LOGS/server.log" 2>&1 &
  echo $! >"$RUN/server.pid"
fi

for _ in $(seq 1 150); do
  [ -f "$DATA/server/admin.kubeconfig" ] && curl -skf https://127.0.0.1:6443/readyz >/dev/null 2>&1 && break
  running "$RUN/server.pid" || die "skiff-server exited; see $LOGS/server.log"
  sleep 0.2
done

cat <<MSG

skiff is up.
  export KUBECONFIG=$DATA/server/admin.kubeconfig
  kubectl get ns
Agents join with the token in $DATA/server/token.
Logs: $LOGS/server.log    Stop: bash $ROOT/scripts/cluster-down.sh
MSG
