#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs Docker Engine,
# Node.js and build tools if absent, starts dockerd, builds skiff and the offline test
# images, then runs unit and end-to-end tests (real Docker, real kubectl).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

need_root
ensure_node
ensure_docker
ensure_build "$ROOT"
bash "$ROOT/scripts/build-test-images.sh"
apt_install docker-registry apache2-utils  # the private registry (htpasswd auth) of the image-pull e2e tests
# the tests start their own registry on a free port; the package's own service (open on :5000) stays off
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
apt_install etcd-server etcd-client  # the etcd datastore tests start their own etcd on free ports
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
apt_install chromium fonts-liberation  # the dashboard's browser tests (headless Chromium driven by playwright-core)
command -v chromium >/dev/null 2>&1 || die "chromium is required for the dashboard's browser tests"
apt_install firefox-esr  # the same dashboard in Firefox (puppeteer-core over WebDriver BiDi)
command -v firefox-esr >/dev/null 2>&1 || die "firefox-esr is required for the dashboard's Firefox tests"
command -v kubectl >/dev/null 2>&1 || die "kubectl (v1.32) is required for the API tests: install it (e.g. the kubernetes-client package) and re-run"

# the Vagrantfile (multi-node VMs) must validate; no VMs run here, so without a provider
# (--ignore-provider). Debian 12 ships vagrant 2.3.4 in main: not installable is a failure.
apt_install vagrant
log "vagrant validate"
(cd "$ROOT" && HOME=${HOME:-/root} VAGRANT_CHECKPOINT_DISABLE=1 vagrant validate --ignore-provider) || die "vagrant validate failed on $ROOT/Vagrantfile"
# and its several-servers layout (three servers with etcd members, two agents)
(cd "$ROOT" && HOME=${HOME:-/root} VAGRANT_CHECKPOINT_DISABLE=1 SKIFF_SERVERS=3 vagrant validate --ignore-provider) || die "vagrant validate failed on $ROOT/Vagrantfile with SKIFF_SERVERS=3"

export SKIFF_REQUIRE_DOCKER=1 SKIFF_REQUIRE_KUBECTL=1
cd "$ROOT"
# the tests are TypeScript too: vitest strips types without checking them
# the generated types are what scripts/gen-types.mjs writes from proto/schema/defs.ts (read from the build above)
log "checking proto/api/types.gen.ts"
node scripts/gen-types.mjs --check || die "proto/api/types.gen.ts is stale: run npm run gen and commit it"
# no import cycle among the modules (dpdm; -T drops type-only imports, which tsc erases)
# formatting and lint rules (Biome, biome.json: 120 columns; explicit any is an error outside tests)
log "biome ci"
npm run --silent lint || die "biome ci failed: npm run format fixes formatting; a lint error needs a change"
log "checking for import cycles"
npm run --silent cycles || die "an import cycle in proto/, controlplane/ or agent/ (npm run cycles lists it)"
log "typechecking the tests"
npx tsc -p tsconfig.test.json || die "the tests do not typecheck"
# the build and unit tests on a newer Node.js LTS line too (the whole suite only: not when
# the caller names test files)
[ $# -gt 0 ] || bash "$ROOT/scripts/test-node-lts.sh" || die "the unit tests fail on the newer Node.js LTS"
report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# one plain summary line for CI; a file that failed outside its tests (did not load, a
# hook failed) counts as a failure too, or the line would say 0 failed on a red run
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const files=(r.testResults||[]).filter((t)=>t.status==="failed"&&!(t.assertionResults||[]).some((a)=>a.status==="failed")).length; console.log(`${r.numPassedTests} passed, ${r.numFailedTests + files} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$report" || true
rm -f "$report"
exit $status
