#!/usr/bin/env node
// API benchmark: N concurrent clients, each looping create-configmap then get-it, for a
// fixed time, against a fresh skiff-server over TLS with keep-alive (as kubectl and
// client-go do). Prints a table of requests/s and p50/p99 latency per concurrency level.
// Usage: node scripts/bench/api.mjs [--seconds 10] [--clients 1,10,50] [--datastore-endpoint http://127.0.0.1:2379]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const seconds = Number(opt('seconds', '10'));
const levels = opt('clients', '1,10,50').split(',').map(Number);
const datastore = opt('datastore-endpoint');
const root = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
const port = 20000 + Math.floor(Math.random() * 20000);

const server = spawn(
  process.execPath,
  [
    join(root, 'dist/controlplane/main.js'),
    '--data-dir',
    dir,
    '--listen',
    `127.0.0.1:${port}`,
    '--log-level',
    'warn',
    ...(datastore ? ['--datastore-endpoint', datastore] : []),
  ],
  { stdio: 'inherit' },
);
const cleanup = () => {
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

async function waitFile(p) {
  for (let i = 0; i < 300 && !existsSync(p); i++) await new Promise((r) => setTimeout(r, 100));
}
await waitFile(join(dir, 'admin.kubeconfig'));
const ca = readFileSync(join(dir, 'tls/server-ca.crt'));
const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
const agent = new Agent({ keepAlive: true, maxSockets: 256, ca });

function call(method, path, body) {
  return new Promise((res, rej) => {
    const data = body ? JSON.stringify(body) : undefined;
    const t0 = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        servername: 'localhost',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      },
      (r) => {
        r.resume();
        r.on('end', () => res({ status: r.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      },
    );
    req.on('error', rej);
    if (data) req.write(data);
    req.end();
  });
}

for (let i = 0; i < 100; i++) {
  try {
    if ((await call('GET', '/readyz')).status === 200) break;
  } catch {
    /* starting */
  }
  await new Promise((r) => setTimeout(r, 100));
}

const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
const rows = [];
let seq = 0;
for (const clients of levels) {
  const lat = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const worker = async (w) => {
    while (Date.now() < end) {
      const name = `bench-${clients}-${w}-${seq++}`;
      const c = await call('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name },
        data: { payload: 'x'.repeat(256) },
      });
      lat.push(c.ms);
      if (c.status !== 201) errors++;
      const g = await call('GET', `/api/v1/namespaces/default/configmaps/${name}`);
      lat.push(g.ms);
      if (g.status !== 200) errors++;
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  const secs = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  rows.push({
    clients,
    requests: lat.length,
    rps: Math.round(lat.length / secs),
    p50: pct(lat, 50).toFixed(1),
    p99: pct(lat, 99).toFixed(1),
    errors,
  });
}

console.log(
  `\nskiff-server API benchmark: create+get ConfigMaps over TLS, ${seconds}s per level, ${new Date().toISOString()}`,
);
console.log('| clients | requests | req/s | p50 ms | p99 ms | errors |');
console.log('|--------:|---------:|------:|-------:|-------:|-------:|');
for (const r of rows) console.log(`| ${r.clients} | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} |`);
agent.destroy();
process.exit(0);
