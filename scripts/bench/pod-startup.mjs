#!/usr/bin/env node
// Pod start-up benchmark: a fresh skiff-server and skiff-agent on this machine's Docker;
// N busybox `sleep` pods (image present) created one at a time, latency from the create
// request to the watch seeing phase Running; then, in the same run, raw dockerode
// create+start of the same image (the physical limit). Also a burst: N pods at once.
// Usage: node scripts/bench/pod-startup.mjs [--pods 30]
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { opt, startCluster, watchPodsRunning } from './cluster.mjs';

const N = Number(opt('pods', '30'));
const IMAGE = 'skiff.local/busybox:1.36';
const node = `bench-${Math.random().toString(36).slice(2, 7)}`;
const docker = new Docker();
const { port, ca, token, agents: [agent], api: call, cleanup: cleanupCluster } = await startCluster({ nodes: [node] });
const cleanup = async () => {
  const raw = await docker.listContainers({ all: true, filters: { label: ['skiff.bench=raw'] } });
  await Promise.all(raw.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
  await cleanupCluster();
};

const { timed } = await watchPodsRunning({ port, ca, token });

const podBody = (name) => ({ metadata: { name }, spec: { nodeName: undefined, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] } });
async function createAndWait(name) {
  return timed(name, async () => {
    const r = await call('POST', '/api/v1/namespaces/default/pods', podBody(name));
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body}`);
  });
}

// warm-up (first sandbox, caches)
await createAndWait('warmup');

const seq = [];
for (let i = 0; i < N; i++) seq.push(await createAndWait(`seq-${i}`));

const burstT0 = performance.now();
const burst = await Promise.all(Array.from({ length: N }, (_, i) => createAndWait(`burst-${i}`)));
const burstTotal = performance.now() - burstT0;

// raw dockerode: create+start of the same image, same count, one at a time
const raw = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const c = await docker.createContainer({ Image: IMAGE, Cmd: ['sleep', '3600'], Labels: { 'skiff.bench': 'raw' } });
  await c.start();
  raw.push(performance.now() - t0);
}
// raw with a sandbox, as a pod is built: pause + container in its network namespace, the
// pause container on the node's pod network (a user-defined bridge, as skiff's sandboxes
// are: Docker's per-network setup makes that ~80 ms dearer than its default bridge)
const rawPod = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const p = await docker.createContainer({ Image: 'skiff.local/pause:3.10', Labels: { 'skiff.bench': 'raw' }, HostConfig: { NetworkMode: 'skiff' } });
  await p.start();
  const c = await docker.createContainer({ Image: IMAGE, Cmd: ['sleep', '3600'], Labels: { 'skiff.bench': 'raw' }, HostConfig: { NetworkMode: `container:${p.id}` } });
  await c.start();
  rawPod.push(performance.now() - t0);
}

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const f = (x) => x.toFixed(0);
const agentRss = Number(readFileSync(`/proc/${agent.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)[1]) / 1024;
console.log(`\nskiff pod start-up, ${N} pods of ${IMAGE} (image present), ${new Date().toISOString()}`);
console.log('| what | p50 ms | p99 ms |');
console.log('|---|---:|---:|');
console.log(`| skiff: create → Running seen by watch (one at a time) | ${f(pct(seq, 50))} | ${f(pct(seq, 99))} |`);
console.log(`| raw dockerode create+start, one container | ${f(pct(raw, 50))} | ${f(pct(raw, 99))} |`);
console.log(`| raw dockerode pause (on the pod network) + container (what a pod is) | ${f(pct(rawPod, 50))} | ${f(pct(rawPod, 99))} |`);
console.log(`| skiff burst: ${N} pods at once, each create → Running | ${f(pct(burst, 50))} | ${f(pct(burst, 99))} |`);
console.log(`\nratio p50 skiff / raw container: ${(pct(seq, 50) / pct(raw, 50)).toFixed(2)}; skiff / raw pod: ${(pct(seq, 50) / pct(rawPod, 50)).toFixed(2)}`);
console.log(`burst of ${N}: all Running after ${f(burstTotal)} ms`);
console.log(`agent resident memory with ${2 * N + 1} pods: ${agentRss.toFixed(0)} MB`);
await cleanup();
process.exit(0);
