#!/usr/bin/env node
// Pod start-up benchmark: a fresh skiff-server and skiff-agent on this machine's Docker;
// N busybox `sleep` pods (image present) created one at a time, latency from the create
// request to the watch seeing phase Running; then, in the same run, raw dockerode
// create+start of the same image (the physical limit). Also a burst: N pods at once, side
// by side with the same Docker work done in parallel straight through dockerode (N pause
// sandboxes on the pod network + a container in each one's network namespace), printed
// as ratios: burst skiff / raw (goal ≤ 1.5), single pod skiff / raw single container
// (goal ≤ 1.25).
// Usage: node scripts/bench/pod-startup.mjs [--pods 30] [--agent-args "--flag value ..."]
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { opt, startCluster, watchPodsRunning } from './cluster.mjs';

const N = Number(opt('pods', '30'));
const IMAGE = 'skiff.local/busybox:1.36';
const PAUSE = 'skiff.local/pause:3.10';
const POD_NETWORK = 'skiff';
const agentArgs = opt('agent-args', '').split(/\s+/).filter(Boolean);
const node = `bench-${Math.random().toString(36).slice(2, 7)}`;
const docker = new Docker();
const {
  port,
  ca,
  token,
  agents: [agent],
  api: call,
  cleanup: cleanupCluster,
} = await startCluster({ nodes: [node], agentArgs });
const removeRaw = async () => {
  const raw = await docker.listContainers({ all: true, filters: { label: ['skiff.bench=raw'] } });
  await Promise.all(
    raw.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
};
const cleanup = async () => {
  await removeRaw();
  await cleanupCluster();
};

const { timed } = await watchPodsRunning({ port, ca, token });

const podBody = (name) => ({
  metadata: { name },
  spec: {
    nodeName: undefined,
    terminationGracePeriodSeconds: 0,
    containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }],
  },
});
async function createAndWait(name) {
  return timed(name, async () => {
    const r = await call('POST', '/api/v1/namespaces/default/pods', podBody(name));
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body}`);
  });
}

/** raw dockerode, as a pod is built: a pause sandbox on the pod network, then a container in its namespaces */
async function rawPod() {
  const p = await docker.createContainer({
    Image: PAUSE,
    Labels: { 'skiff.bench': 'raw' },
    HostConfig: { NetworkMode: POD_NETWORK, IpcMode: 'shareable' },
  });
  await p.start();
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: { 'skiff.bench': 'raw' },
    HostConfig: { NetworkMode: `container:${p.id}`, IpcMode: `container:${p.id}` },
  });
  await c.start();
}
/** raw dockerode: one container, create+start, on the given network */
async function rawContainer(network) {
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: { 'skiff.bench': 'raw' },
    ...(network ? { HostConfig: { NetworkMode: network } } : {}),
  });
  await c.start();
}
async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// warm-up (first sandbox, caches)
await createAndWait('warmup');

// one at a time, interleaved so that both see the same machine (load from other work, the
// number of containers present): a skiff pod; raw dockerode create+start of a single
// container (Docker's default bridge, and the pod network: a user-defined bridge, whose
// per-network setup makes a start dearer); a pod's worth of raw Docker work (pause on the
// pod network + container in its namespaces). The raw containers go again after each round.
const seq = [];
const raw = [];
const rawNet = [];
const rawPods = [];
for (let i = 0; i < N; i++) {
  seq.push(await createAndWait(`seq-${i}`));
  raw.push(await time(() => rawContainer()));
  rawNet.push(await time(() => rawContainer(POD_NETWORK)));
  rawPods.push(await time(rawPod));
  await removeRaw();
}

const burstT0 = performance.now();
const burst = await Promise.all(Array.from({ length: N }, (_, i) => createAndWait(`burst-${i}`)));
const burstTotal = performance.now() - burstT0;

// the same Docker work, N pods' worth at once, straight through dockerode (same machine
// state: the skiff pods above keep running)
const rawBurstT0 = performance.now();
const rawBurst = await Promise.all(Array.from({ length: N }, () => time(rawPod)));
const rawBurstTotal = performance.now() - rawBurstT0;
await removeRaw();

const pct = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (x) => x.toFixed(0);
const r2 = (x) => x.toFixed(2);
const agentRss = Number(readFileSync(`/proc/${agent.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)[1]) / 1024;
console.log(
  `\nskiff pod start-up, ${N} pods of ${IMAGE} (image present), ${new Date().toISOString()}${agentArgs.length ? `, agent ${agentArgs.join(' ')}` : ''}`,
);
console.log('| what | p50 ms | p99 ms |');
console.log('|---|---:|---:|');
console.log(`| skiff: create → Running seen by watch (one at a time) | ${f(pct(seq, 50))} | ${f(pct(seq, 99))} |`);
console.log(`| raw dockerode create+start, one container (default bridge) | ${f(pct(raw, 50))} | ${f(pct(raw, 99))} |`);
console.log(
  `| raw dockerode create+start, one container on the pod network | ${f(pct(rawNet, 50))} | ${f(pct(rawNet, 99))} |`,
);
console.log(
  `| raw dockerode pause (on the pod network) + container (what a pod is) | ${f(pct(rawPods, 50))} | ${f(pct(rawPods, 99))} |`,
);
console.log(`| skiff burst: ${N} pods at once, each create → Running | ${f(pct(burst, 50))} | ${f(pct(burst, 99))} |`);
console.log(
  `| raw burst: ${N} × (pause + container) at once through dockerode, each | ${f(pct(rawBurst, 50))} | ${f(pct(rawBurst, 99))} |`,
);
console.log(
  `\nwarm start, ratio p50 skiff single pod / raw single container: ${r2(pct(seq, 50) / pct(raw, 50))} (default bridge; goal ≤ 1.25), ${r2(pct(seq, 50) / pct(rawNet, 50))} (on the pod network); skiff / raw pod: ${r2(pct(seq, 50) / pct(rawPods, 50))}`,
);
console.log(
  `burst of ${N}: skiff all Running after ${f(burstTotal)} ms, raw parallel Docker work done after ${f(rawBurstTotal)} ms: ratio ${r2(burstTotal / rawBurstTotal)} (goal ≤ 1.5)`,
);
console.log(`agent resident memory with ${2 * N + 1} pods: ${agentRss.toFixed(0)} MB`);
await cleanup();
process.exit(0);
