#!/usr/bin/env node
// Failover benchmark with default settings: a server and two agents on this machine's
// Docker, a 4-replica Deployment spread over both; kill -9 one agent and time until
// every replica is Running on the other node. Kubernetes' defaults take about 350 s
// (50 s node grace + 300 s toleration); skiff's are 15 s + 10 s.
// Usage: node scripts/bench/failover.mjs [--runs 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 1) || 1;
const root = resolve(import.meta.dirname, '..', '..');
const kubectl = process.env.KUBECTL ?? '/usr/bin/kubectl';
const results = [];

for (let run = 0; run < runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-failover-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const procs = [];
  const server = spawn(process.execPath, [join(root, 'dist/controlplane/main.js'), '--data-dir', join(dir, 'server'), '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'inherit' });
  procs.push(server);
  for (let i = 0; i < 300 && !existsSync(join(dir, 'server/admin.kubeconfig')); i++) await new Promise((r) => setTimeout(r, 100));
  const k = (...a) => spawnSync(kubectl, ['--kubeconfig', join(dir, 'server/admin.kubeconfig'), '--cache-dir', join(dir, 'cache'), ...a], { encoding: 'utf8', input: a.includes('-') ? globalThis.input : undefined });
  const nodes = ['fo-a', 'fo-b'].map((n) => `${n}-${Math.random().toString(36).slice(2, 6)}`);
  const agents = nodes.map((n) => spawn(process.execPath, ['--max-semi-space-size=2', join(root, 'dist/agent/main.js'), '--server', `https://127.0.0.1:${port}`, '--token-file', join(dir, 'server/token'), '--node-name', n, '--data-dir', join(dir, n), '--pause-image', 'skiff.local/pause:3.10', '--network', 'bridge', '--log-level', 'warn'], { stdio: 'inherit' }));
  procs.push(...agents);
  const waitFor = async (fn, ms) => { const end = Date.now() + ms; for (;;) { if (fn()) return true; if (Date.now() > end) return false; await new Promise((r) => setTimeout(r, 250)); } };
  await waitFor(() => nodes.every((n) => / Ready /.test(k('get', 'node', n).stdout)), 30_000);
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
  await waitFor(() => pods().filter((p) => p.status.phase === 'Running').length === 4 && new Set(pods().map((p) => p.spec.nodeName)).size === 2, 60_000);
  const t0 = Date.now();
  agents[0].kill('SIGKILL');
  const ok = await waitFor(() => { const ps = pods().filter((p) => !p.metadata.deletionTimestamp); return ps.length === 4 && ps.every((p) => p.spec.nodeName === nodes[1] && p.status.phase === 'Running'); }, 120_000);
  results.push(ok ? (Date.now() - t0) / 1000 : NaN);
  for (const p of procs) p.kill('SIGKILL');
  for (const n of nodes) {
    const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=io.skiff.node=${n}`], { encoding: 'utf8' }).stdout.trim();
    if (ids) spawnSync('docker', ['rm', '-f', ...ids.split('\n')]);
  }
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nskiff failover (defaults: --node-grace-period 15s, --default-unreachable-toleration-seconds 10), ${new Date().toISOString()}`);
console.log('| run | agent killed → all 4 replicas Running on the other node (s) |');
console.log('|---:|---:|');
results.forEach((r, i) => console.log(`| ${i + 1} | ${r.toFixed(1)} |`));
console.log('| Kubernetes defaults (50 s grace + 300 s toleration) | ~350 |');
process.exit(0);
