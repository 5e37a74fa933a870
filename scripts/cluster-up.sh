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

NODE_NAME=${SKIFF_NODE_NAME:-$(hostname | tr 'A-Z' 'a-z')}
if running "$RUN/agent.pid"; then
  log "skiff-agent already running (pid $(cat "$RUN/agent.pid"))"
else
  log "starting skiff-agent (node $NODE_NAME)"
  nohup node --max-semi-space-size=2 --max-old-space-size=192 "$ROOT/dist/agent/main.js" \
    --server https://127.0.0.1:6443 --token-file "$DATA/server/token" --node-name "$NODE_NAME" \
    --data-dir "$DATA/agent" ${SKIFF_AGENT_ARGS:-} >>"$LOGS/agent.log" 2>&1 &
  echo $! >"$RUN/agent.pid"
fi
TOKEN=$(cat "$DATA/server/admin-token")
for _ in $(seq 1 150); do
  curl -sf --cacert "$DATA/server/tls/server-ca.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:6443/api/v1/nodes/$NODE_NAME" 2>/dev/null \
    | grep -q '"type":"Ready","status":"True"' && break
  running "$RUN/agent.pid" || die "skiff-agent exited; see $LOGS/agent.log"
  sleep 0.2
done

cat <<MSG

skiff is up: server and agent on node $NODE_NAME.
  export KUBECONFIG=$DATA/server/admin.kubeconfig
  kubectl get nodes
(kubectl is not part of Debian 12: install kubectl v1.28 or newer from the Kubernetes packages.)
Agents join with the token in $DATA/server/token.
Logs: $LOGS/server.log $LOGS/agent.log    Stop: bash $ROOT/scripts/cluster-down.sh
MSG
