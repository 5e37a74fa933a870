#!/usr/bin/env bash
# Stops what cluster-up.sh started. State in /var/lib/skiff is kept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for p in /run/skiff/agent.pid /run/skiff/server.pid; do
  [ -f "$p" ] || continue
  pid=$(cat "$p")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $(basename "$p" .pid) (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$p"
done
