#!/usr/bin/env node
// Failover benchmark with default settings: a server and two agents on this machine's
// Docker, a 4-replica Deployment spread over both; kill -9 one agent and time until
// every replica is Running on the other node. Kubernetes' defaults take about 350 s
// (50 s node grace + 300 s toleration); skiff's are 15 s + 10 s.
// Usage: node scripts/bench/failover.mjs [--runs 3]
import { opt, sleep, startCluster } from './cluster.mjs';

const runs = Number(opt('runs', '1')) || 1;
const results = [];

for (let run = 0; run < runs; run++) {
  const nodes = ['fo-a', 'fo-b'].map((n) => `${n}-${Math.random().toString(36).slice(2, 6)}`);
  // two agents share this host: Docker's bridge, not the pod network
  const cluster = await startCluster({ nodes, network: 'bridge', prefix: 'skiff-failover-' });
  const { agents } = cluster;
  const k = (...a) => cluster.kubectl(a, a.includes('-') ? globalThis.input : undefined);
  const waitFor = async (fn, ms) => {
    const end = Date.now() + ms;
    for (;;) {
      if (fn()) return true;
      if (Date.now() > end) return false;
      await sleep(250);
    }
  };
  globalThis.input = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: skiff.local/busybox:1.36, command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]}
`;
  k('apply', '-f', '-');
  const pods = () => JSON.parse(k('get', 'pods', '-l', 'app=web', '-o', 'json').stdout || '{"items":[]}').items;
  await waitFor(
    () =>
      pods().filter((p) => p.status.phase === 'Running').length === 4 &&
      new Set(pods().map((p) => p.spec.nodeName)).size === 2,
    60_000,
  );
  const t0 = Date.now();
  agents[0].kill('SIGKILL');
  const ok = await waitFor(() => {
    const ps = pods().filter((p) => !p.metadata.deletionTimestamp);
    return ps.length === 4 && ps.every((p) => p.spec.nodeName === nodes[1] && p.status.phase === 'Running');
  }, 120_000);
  results.push(ok ? (Date.now() - t0) / 1000 : NaN);
  await cluster.cleanup();
}

console.log(
  `\nskiff failover (defaults: --node-grace-period 15s, --default-unreachable-toleration-seconds 10), ${new Date().toISOString()}`,
);
console.log('| run | agent killed → all 4 replicas Running on the other node (s) |');
console.log('|---:|---:|');
results.forEach((r, i) => console.log(`| ${i + 1} | ${r.toFixed(1)} |`));
console.log('| Kubernetes defaults (50 s grace + 300 s toleration) | ~350 |');
process.exit(0);
