#!/usr/bin/env node
// Rollout benchmark: a fresh server and agent on this machine's Docker, a 30-replica
// Deployment (default strategy: 25% surge, 25% unavailable); time for the first rollout,
// then for an image change until `kubectl rollout status` reports success.
// Usage: node scripts/bench/rollout.mjs [--replicas 30]
import { opt, startCluster } from './cluster.mjs';

const replicas = Number(opt('replicas', '30')) || 30;
const node = `ro-${Math.random().toString(36).slice(2, 6)}`;
const cluster = await startCluster({ nodes: [node], prefix: 'skiff-rollout-' });
const k = (input, ...a) => cluster.kubectl(a, input);

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
const timed = (fn) => {
  const t0 = Date.now();
  const r = fn();
  return { ms: Date.now() - t0, ok: r.status === 0, err: r.stderr };
};
let t0 = Date.now();
k(manifest('skiff.local/busybox:1.36'), 'apply', '-f', '-');
const first = timed(() => k(undefined, 'rollout', 'status', 'deployment/web', '--timeout=300s'));
first.ms = Date.now() - t0;
t0 = Date.now();
k(undefined, 'set', 'image', 'deployment/web', 'c=skiff.local/busybox:latest');
const update = timed(() => k(undefined, 'rollout', 'status', 'deployment/web', '--timeout=300s'));
update.ms = Date.now() - t0;

console.log(
  `\nskiff rollout, ${replicas} replicas on one node (default RollingUpdate 25%/25%), ${new Date().toISOString()}`,
);
console.log('| step | seconds | ok |');
console.log('|---|---:|---|');
console.log(`| apply → rolled out (${replicas} new pods) | ${(first.ms / 1000).toFixed(1)} | ${first.ok} |`);
console.log(`| image change → rolled out | ${(update.ms / 1000).toFixed(1)} | ${update.ok} |`);
await cluster.cleanup();
process.exit(first.ok && update.ok ? 0 : 1);
