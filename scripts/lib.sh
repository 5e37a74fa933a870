# Shared helpers for skiff's scripts (sourced, not run).
set -euo pipefail

log() { printf '\033[1m[skiff]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[skiff] error:\033[0m %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run this as root (it installs packages and starts dockerd)"; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Node.js >= 20 (20, 22 and 24 are supported; Node 20 left support in April 2026): Debian 12
# ships 18, so install the newest LTS line, 24, from NodeSource's Debian repository.
NODE_LTS_LINE=${NODE_LTS_LINE:-24}
ensure_node() {
  if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then return 0; fi
  apt_install ca-certificates curl gnupg
  log "installing Node.js $NODE_LTS_LINE (NodeSource)"
  curl -fsSL "https://deb.nodesource.com/setup_${NODE_LTS_LINE}.x" | bash - >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "Node.js >= 20 is required"
}

# Docker Engine from Debian (docker.io); start dockerd ourselves when no init system runs it.
ensure_docker() {
  apt_install docker.io iptables busybox-static ca-certificates curl
  if docker info >/dev/null 2>&1; then return 0; fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl enable --now docker >/dev/null 2>&1 || true
  fi
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    mkdir -p /var/log/skiff
    nohup dockerd >/var/log/skiff/dockerd.log 2>&1 &
    for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  docker info >/dev/null 2>&1 || die "Docker engine did not start (see /var/log/skiff/dockerd.log)"
}

# npm dependencies (better-sqlite3 compiles with node-gyp) and the TypeScript build.
ensure_build() {
  local root="$1"
  apt_install python3 make g++
  if [ ! -d "$root/node_modules/better-sqlite3/build/Release" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies"
    # the lock lists every platform's optional packages (rollup's, esbuild's), so `npm ci`
    # takes it as it is; no fallback to `npm install`, which would hide a broken lock
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $root"
  fi
  log "building"
  (cd "$root" && npm run --silent build)
}
