#!/usr/bin/env node
// Rollout benchmark: a fresh server and agent on this machine's Docker, a 30-replica
// Deployment (default strategy: 25% surge, 25% unavailable); time for the first rollout,
// then for an image change until `kubectl rollout status` reports success.
// Usage: node scripts/bench/rollout.mjs [--replicas 30]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const replicas = Number(args[args.indexOf('--replicas') + 1] || 30) || 30;
const root = resolve(import.meta.dirname, '..', '..');
const kubectl = process.env.KUBECTL ?? '/usr/bin/kubectl';
const dir = mkdtempSync(join(tmpdir(), 'skiff-rollout-'));
const port = 20000 + Math.floor(Math.random() * 20000);
const node = `ro-${Math.random().toString(36).slice(2, 6)}`;
const procs = [spawn(process.execPath, [join(root, 'dist/controlplane/main.js'), '--data-dir', join(dir, 'server'), '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'inherit' })];
for (let i = 0; i < 300 && !existsSync(join(dir, 'server/admin.kubeconfig')); i++) await new Promise((r) => setTimeout(r, 100));
procs.push(spawn(process.execPath, ['--max-semi-space-size=2', join(root, 'dist/agent/main.js'), '--server', `https://127.0.0.1:${port}`, '--token-file', join(dir, 'server/token'), '--node-name', node, '--data-dir', join(dir, 'agent'), '--pause-image', 'skiff.local/pause:3.10', '--log-level', 'warn'], { stdio: 'inherit' }));
const k = (input, ...a) => spawnSync(kubectl, ['--kubeconfig', join(dir, 'server/admin.kubeconfig'), '--cache-dir', join(dir, 'cache'), ...a], { encoding: 'utf8', input });
for (let i = 0; i < 200 && !/ Ready /.test(k(undefined, 'get', 'node', node).stdout); i++) await new Promise((r) => setTimeout(r, 100));

const manifest = (image) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: ${image}, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]}
`;
const timed = (fn) => { const t0 = Date.now(); const r = fn(); return { ms: Date.now() - t0, ok: r.status === 0, err: r.stderr }; };
let t0 = Date.now();
k(manifest('skiff.local/busybox:1.36'), 'apply', '-f', '-');
const first = timed(() => k(undefined, 'rollout', 'status', 'deployment/web', '--timeout=300s'));
first.ms = Date.now() - t0;
t0 = Date.now();
k(undefined, 'set', 'image', 'deployment/web', 'c=skiff.local/busybox:latest');
const update = timed(() => k(undefined, 'rollout', 'status', 'deployment/web', '--timeout=300s'));
update.ms = Date.now() - t0;

console.log(`\nskiff rollout, ${replicas} replicas on one node (default RollingUpdate 25%/25%), ${new Date().toISOString()}`);
console.log('| step | seconds | ok |');
console.log('|---|---:|---|');
console.log(`| apply → rolled out (${replicas} new pods) | ${(first.ms / 1000).toFixed(1)} | ${first.ok} |`);
console.log(`| image change → rolled out | ${(update.ms / 1000).toFixed(1)} | ${update.ok} |`);
for (const p of procs) p.kill('SIGKILL');
const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=io.skiff.node=${node}`], { encoding: 'utf8' }).stdout.trim();
if (ids) spawnSync('docker', ['rm', '-f', ...ids.split('\n')]);
// the agent owned this host's pod network: take its bridge, chains and routes away again
spawnSync('docker', ['network', 'rm', 'skiff']);
const { removeAll, realExec } = await import(join(root, 'dist/agent/network/iptables.js'));
await removeAll(realExec).catch(() => {});
rmSync(dir, { recursive: true, force: true });
process.exit(first.ok && update.ok ? 0 : 1);
