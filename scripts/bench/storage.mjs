#!/usr/bin/env node
// Storage benchmark: a fresh skiff-server and skiff-agent on this machine's Docker; N
// times, a claim of the default class (local-path, WaitForFirstConsumer) and a pod using
// it are created together, timed from the claim's create request to the watch seeing the
// pod Running (scheduling, provisioning through the agent, binding, the bind mount); next
// to it, in the same run, a pod with an emptyDir, and raw Docker: a container with a bind
// mount of a fresh directory (mkdir + create + start), the physical limit.
// Usage: node scripts/bench/storage.mjs [--pods 15]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { opt, startCluster, watchPodsRunning } from './cluster.mjs';

const N = Number(opt('pods', '15'));
const IMAGE = 'skiff.local/busybox:1.36';
const node = `bench-${Math.random().toString(36).slice(2, 7)}`;
const docker = new Docker();
const { port, ca, token, api: call, cleanup: cleanupCluster } = await startCluster({ nodes: [node] });
const rawDir = mkdtempSync(join(tmpdir(), 'skiff-bench-raw-'));
const cleanup = async () => {
  const raw = await docker.listContainers({ all: true, filters: { label: ['skiff.bench=raw'] } });
  await Promise.all(
    raw.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
  await cleanupCluster();
  rmSync(rawDir, { recursive: true, force: true });
};

const { timed } = await watchPodsRunning({ port, ca, token });

const container = {
  name: 'c',
  image: IMAGE,
  command: ['sleep', '3600'],
  volumeMounts: [{ name: 'data', mountPath: '/data' }],
};
async function must(r, what) {
  if (r.status !== 201) throw new Error(`${what}: ${r.status} ${r.body}`);
}
const withClaim = (name) =>
  timed(name, async () => {
    await must(
      await call('POST', '/api/v1/namespaces/default/persistentvolumeclaims', {
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } },
      }),
      `claim ${name}`,
    );
    await must(
      await call('POST', '/api/v1/namespaces/default/pods', {
        metadata: { name },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [container],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: name } }],
        },
      }),
      `pod ${name}`,
    );
  });
const withEmptyDir = (name) =>
  timed(name, async () => {
    await must(
      await call('POST', '/api/v1/namespaces/default/pods', {
        metadata: { name },
        spec: { terminationGracePeriodSeconds: 0, containers: [container], volumes: [{ name: 'data', emptyDir: {} }] },
      }),
      `pod ${name}`,
    );
  });

await withEmptyDir('warmup');
const claims = [];
const empties = [];
for (let i = 0; i < N; i++) {
  claims.push(await withClaim(`pvc-${i}`));
  empties.push(await withEmptyDir(`empty-${i}`));
}
const raw = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const dir = join(rawDir, `v${i}`);
  mkdirSync(dir);
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: { 'skiff.bench': 'raw' },
    HostConfig: { Binds: [`${dir}:/data`] },
  });
  await c.start();
  raw.push(performance.now() - t0);
}

const pct = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (x) => x.toFixed(0);
console.log(`\nskiff storage, ${N} pods each, ${new Date().toISOString()}`);
console.log('| what | p50 ms | p99 ms |');
console.log('|---|---:|---:|');
console.log(
  `| skiff: claim (local-path) + pod created → pod Running (provisioned, bound, mounted) | ${f(pct(claims, 50))} | ${f(pct(claims, 99))} |`,
);
console.log(`| skiff: pod with an emptyDir → Running | ${f(pct(empties, 50))} | ${f(pct(empties, 99))} |`);
console.log(
  `| raw Docker: mkdir + container with that bind mount, create+start | ${f(pct(raw, 50))} | ${f(pct(raw, 99))} |`,
);
console.log(
  `\nratio p50 claim / emptyDir: ${(pct(claims, 50) / pct(empties, 50)).toFixed(2)}; claim / raw: ${(pct(claims, 50) / pct(raw, 50)).toFixed(2)}`,
);
await cleanup();
process.exit(0);
