#!/usr/bin/env node
// Authorizer overhead: the API benchmark's loop (create a ConfigMap, get it) against two
// fresh skiff-servers in the same run, one with --authorization-mode AlwaysAllow and one
// with RBAC. On both, a static-token user that is NOT in system:masters does the work,
// so RBAC evaluates its bindings on every request (a RoleBinding to `edit`, among
// --bindings other RoleBindings and ClusterRoleBindings that do not apply to it).
// Levels alternate between the servers. Prints req/s and p50/p99 per server and level.
// With --audit, a third server runs RBAC plus the audit log (--audit-log-path, every request
// at Metadata, the default policy): its cost beside RBAC's in the same run.
// Usage: node scripts/bench/authz.mjs [--seconds 10] [--clients 1,10,50] [--bindings 200] [--audit]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
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
const extraBindings = Number(opt('bindings', '200'));
const withAudit = args.includes('--audit');
const root = resolve(import.meta.dirname, '..', '..');
const USER_TOKEN = 'bench-user-token';
const servers = [];
process.on('exit', () => {
  for (const s of servers) {
    s.proc.kill('SIGKILL');
    rmSync(s.dir, { recursive: true, force: true });
  }
});

async function start(mode, audit = false) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-authz-'));
  writeFileSync(join(dir, 'tokens.csv'), `${USER_TOKEN},bench-user,bench-uid,"bench"\n`);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = spawn(
    process.execPath,
    [
      join(root, 'dist/controlplane/main.js'),
      '--data-dir',
      join(dir, 'data'),
      '--listen',
      `127.0.0.1:${port}`,
      '--log-level',
      'warn',
      '--token-auth-file',
      join(dir, 'tokens.csv'),
      '--authorization-mode',
      mode,
      ...(audit ? ['--audit-log-path', join(dir, 'audit.log')] : []),
    ],
    { stdio: 'inherit' },
  );
  const s = { mode: audit ? `${mode} + audit log` : mode, dir, port, proc };
  servers.push(s);
  for (let i = 0; i < 300 && !existsSync(join(dir, 'data', 'admin.kubeconfig')); i++)
    await new Promise((r) => setTimeout(r, 100));
  s.agent = new Agent({ keepAlive: true, maxSockets: 256, ca: readFileSync(join(dir, 'data', 'tls/server-ca.crt')) });
  s.admin = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
  for (let i = 0; i < 100; i++) {
    try {
      if ((await call(s, s.admin, 'GET', '/readyz')).status === 200) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return s;
}

function call(s, token, method, path, body) {
  return new Promise((res, rej) => {
    const data = body ? JSON.stringify(body) : undefined;
    const t0 = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port: s.port,
        method,
        path,
        agent: s.agent,
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

const RB = '/apis/rbac.authorization.k8s.io/v1';
async function setup(s) {
  const rb = (name, role, subject) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [subject],
  });
  for (let i = 0; i < extraBindings; i++) {
    await call(
      s,
      s.admin,
      'POST',
      `${RB}/namespaces/default/rolebindings`,
      rb(`other-${i}`, 'view', { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `someone-${i}` }),
    );
    await call(s, s.admin, 'POST', `${RB}/clusterrolebindings`, {
      ...rb(`other-${i}`, 'view', { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: `team-${i}` }),
      kind: 'ClusterRoleBinding',
    });
  }
  await call(
    s,
    s.admin,
    'POST',
    `${RB}/namespaces/default/rolebindings`,
    rb('bench-edit', 'edit', { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'bench' }),
  );
  for (let i = 0; i < 200; i++) {
    if ((await call(s, USER_TOKEN, 'GET', '/api/v1/namespaces/default/configmaps')).status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`bench user not authorized on ${s.mode}`);
}

const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
let seq = 0;
async function level(s, clients, token = USER_TOKEN, label = s.mode) {
  const lat = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const worker = async (w) => {
    while (Date.now() < end) {
      const name = `bench-${clients}-${w}-${seq++}`;
      const c = await call(s, token, 'POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name },
        data: { payload: 'x'.repeat(256) },
      });
      lat.push(c.ms);
      if (c.status !== 201) errors++;
      const g = await call(s, token, 'GET', `/api/v1/namespaces/default/configmaps/${name}`);
      lat.push(g.ms);
      if (g.status !== 200) errors++;
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  const secs = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    mode: label,
    clients,
    requests: lat.length,
    rps: Math.round(lat.length / secs),
    p50: pct(lat, 50).toFixed(1),
    p99: pct(lat, 99).toFixed(1),
    errors,
  };
}

const allow = await start('AlwaysAllow');
const rbac = await start('RBAC');
const audited = withAudit ? await start('RBAC', true) : undefined;
await setup(allow);
await setup(rbac);
if (audited) await setup(audited);
const rows = [];
for (const clients of levels) {
  // alternate which server goes first so drift on the machine hits both alike
  const order = levels.indexOf(clients) % 2 === 0 ? [allow, rbac] : [rbac, allow];
  if (audited) order.push(audited);
  for (const s of order) rows.push(await level(s, clients));
  // the admin token (system:masters: allowed before any rule is looked at), as scripts/bench/api.mjs runs
  rows.push(
    await level(allow, clients, allow.admin, 'AlwaysAllow, admin'),
    await level(rbac, clients, rbac.admin, 'RBAC, admin'),
  );
}
console.log(
  `\nauthorizer overhead: create+get ConfigMaps as a non-admin user, ${seconds}s per level, ${extraBindings} unrelated RoleBindings + ClusterRoleBindings, ${new Date().toISOString()}`,
);
console.log('| authorization | clients | requests | req/s | p50 ms | p99 ms | errors |');
console.log('|:--------------|--------:|---------:|------:|-------:|-------:|-------:|');
for (const r of rows.sort((a, b) => a.clients - b.clients || a.mode.localeCompare(b.mode)))
  console.log(`| ${r.mode} | ${r.clients} | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} |`);
for (const s of servers) s.agent.destroy();
process.exit(0);
