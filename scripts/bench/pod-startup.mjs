#!/usr/bin/env node
// Pod start-up benchmark: a fresh skiff-server and skiff-agent on this machine's Docker;
// N busybox `sleep` pods (image present) created one at a time, latency from the create
// request to the watch seeing phase Running; then, in the same run, raw dockerode
// create+start of the same image (the physical limit). Also a burst: N pods at once.
// Usage: node scripts/bench/pod-startup.mjs [--pods 30]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';

const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(`--${n}`); return i >= 0 ? args[i + 1] : d; };
const N = Number(opt('pods', '30'));
// the flags the skiff-agent launcher runs node with (see agent/main.ts's first line)
const AGENT_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=192'];
const IMAGE = 'skiff.local/busybox:1.36';
const root = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
const port = 20000 + Math.floor(Math.random() * 20000);
const node = `bench-${Math.random().toString(36).slice(2, 7)}`;
const docker = new Docker();
const procs = [];
const cleanup = async () => {
  for (const p of procs) p.kill('SIGKILL');
  const cs = await docker.listContainers({ all: true, filters: { label: [`io.skiff.node=${node}`] } });
  await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
  const raw = await docker.listContainers({ all: true, filters: { label: ['skiff.bench=raw'] } });
  await Promise.all(raw.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
  // the agent owned this host's pod network: take its bridge, chains and routes away again
  await docker.getNetwork('skiff').remove().catch(() => {});
  const { removeAll, realExec } = await import(join(root, 'dist/agent/network/iptables.js'));
  await removeAll(realExec).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
};

procs.push(spawn(process.execPath, [join(root, 'dist/controlplane/main.js'), '--data-dir', join(dir, 'server'), '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'inherit' }));
for (let i = 0; i < 300 && !existsSync(join(dir, 'server/admin.kubeconfig')); i++) await new Promise((r) => setTimeout(r, 100));
const ca = readFileSync(join(dir, 'server/tls/server-ca.crt'));
const token = readFileSync(join(dir, 'server/admin-token'), 'utf8').trim();
const agent = spawn(process.execPath, [...AGENT_FLAGS, join(root, 'dist/agent/main.js'), '--server', `https://127.0.0.1:${port}`, '--token-file', join(dir, 'server/token'), '--node-name', node, '--data-dir', join(dir, 'agent'), '--pause-image', 'skiff.local/pause:3.10', '--log-level', 'warn'], { stdio: 'inherit' });
procs.push(agent);
const httpAgent = new Agent({ keepAlive: true, ca });

function call(method, path, body) {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: httpAgent, servername: 'localhost', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (r) => {
      let b = ''; r.on('data', (d) => { b += d; }); r.on('end', () => res({ status: r.statusCode, body: b }));
    });
    req.on('error', rej);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

// wait for the node
for (let i = 0; i < 200; i++) {
  const r = await call('GET', `/api/v1/nodes/${node}`).catch(() => ({ status: 0 }));
  if (r.status === 200 && JSON.parse(r.body).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
  await new Promise((r) => setTimeout(r, 100));
}

// one watch on pods; resolves waiters when a pod is Running
const waiters = new Map();
const seenRunning = new Map();
await new Promise((resolveWatch) => {
  const req = request({ host: '127.0.0.1', port, path: '/api/v1/namespaces/default/pods?watch=true', agent: new Agent({ ca }), servername: 'localhost', headers: { Authorization: `Bearer ${token}` } }, (r) => {
    let buf = '';
    r.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        const ev = JSON.parse(line);
        const name = ev.object?.metadata?.name;
        if (ev.object?.status?.phase === 'Running' && !seenRunning.has(name)) {
          seenRunning.set(name, performance.now());
          waiters.get(name)?.();
        }
      }
    });
    resolveWatch();
  });
  req.end();
});

const podBody = (name) => ({ metadata: { name }, spec: { nodeName: undefined, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] } });
async function createAndWait(name) {
  const t0 = performance.now();
  const done = new Promise((r) => waiters.set(name, r));
  const r = await call('POST', '/api/v1/namespaces/default/pods', podBody(name));
  if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body}`);
  await done;
  return seenRunning.get(name) - t0;
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
