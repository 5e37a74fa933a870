#!/usr/bin/env node
// Several servers, measured in one run: the API benchmark (api.mjs: create+get ConfigMaps,
// keep-alive TLS) on SQLite, on one local etcd member and on a cluster of three members
// (all on this machine, loopback, plain HTTP between server and etcd); then the failover
// time: three etcd members, server A (the leader) and B (joined with A's token), one agent
// on this machine's Docker given both servers, a one-replica Deployment Running; kill -9 of A
// and at once a scale to 2 through B: the time until the second pod is Running is the time
// B needs to take the leader Leases (15 s lease, 2 s retry) plus schedule and start a pod.
// Usage: node scripts/bench/ha.mjs [--seconds 5] [--clients 1,10,50] [--runs 2]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_FLAGS, opt, root, sleep } from './cluster.mjs';

const seconds = opt('seconds', '5');
const clients = opt('clients', '1,10,50');
const runs = Number(opt('runs', '2'));
const ETCD = process.env.SKIFF_TEST_ETCD ?? '/usr/bin/etcd';
const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';
const procs = [];
const dirs = [];
const tmp = (p) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
const cleanup = () => {
  for (const p of procs) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/** n etcd members on loopback; resolves with their client URLs once the cluster answers */
async function etcdCluster(n) {
  const members = [];
  for (let i = 0; i < n; i++)
    members.push({ name: `m${i}`, client: await freePort(), peer: await freePort(), dir: tmp('skiff-bench-etcd-') });
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const clusterToken = `bench-${members[0].client}`;
  for (const m of members) {
    procs.push(
      spawn(
        ETCD,
        [
          '--name',
          m.name,
          '--data-dir',
          m.dir,
          '--listen-client-urls',
          `http://127.0.0.1:${m.client}`,
          '--advertise-client-urls',
          `http://127.0.0.1:${m.client}`,
          '--listen-peer-urls',
          `http://127.0.0.1:${m.peer}`,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${m.peer}`,
          '--initial-cluster',
          initial,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          clusterToken,
          '--log-level',
          'error',
          '--logger',
          'zap',
        ],
        { stdio: 'ignore' },
      ),
    );
  }
  const endpoints = members.map((m) => `http://127.0.0.1:${m.client}`);
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    const r = spawnSync(
      'etcdctl',
      ['--endpoints', endpoints.join(','), '--dial-timeout', '1s', '--command-timeout', '2s', 'endpoint', 'health'],
      { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' },
    );
    if (r.status === 0) return endpoints.join(',');
    await sleep(100);
  }
  throw new Error(`etcd (${n} members) did not become healthy`);
}

/** api.mjs against a fresh server on this datastore: its table rows */
function apiBench(datastore) {
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'scripts/bench/api.mjs'),
      '--seconds',
      seconds,
      '--clients',
      clients,
      ...(datastore ? ['--datastore-endpoint', datastore] : []),
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  if (r.status !== 0) throw new Error(`api.mjs failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => /^\| \d+ \|/.test(l))
    .map((l) => {
      const c = l.split('|').map((x) => x.trim());
      return { clients: c[1], rps: c[3], p50: c[4], p99: c[5], errors: c[6] };
    });
}

function server(dir, port, extra) {
  const p = spawn(
    process.execPath,
    [
      join(root, 'dist/controlplane/main.js'),
      '--data-dir',
      dir,
      '--listen',
      `127.0.0.1:${port}`,
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: 'inherit' },
  );
  procs.push(p);
  return p;
}
const kc = (kubeconfig, serverUrl, args) =>
  spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, ...(serverUrl ? ['--server', serverUrl] : []), ...args], {
    encoding: 'utf8',
  });
async function until(what, fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (fn()) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

/** one failover: seconds from kill -9 of the leader to the second replica Running (and to B's Leases) */
async function failover() {
  const endpoints = await etcdCluster(3);
  const da = tmp('skiff-bench-ha-a-');
  const db = tmp('skiff-bench-ha-b-');
  const [pa, pb] = [await freePort(), await freePort()];
  const a = server(da, pa, ['--datastore-endpoint', endpoints, '--server-name', 'bench-a']);
  const kubeconfig = join(da, 'admin.kubeconfig');
  const holder = (url) =>
    kc(kubeconfig, url, [
      'get',
      'lease',
      '-n',
      'kube-system',
      'kube-controller-manager',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ]).stdout;
  await until('server A', () => existsSync(kubeconfig) && holder(undefined).startsWith('bench-a_'), 30_000);
  server(db, pb, ['--datastore-endpoint', endpoints, '--server-name', 'bench-b', '--token-file', join(da, 'token')]);
  const urlB = `https://127.0.0.1:${pb}`;
  await until('server B', () => existsSync(join(db, 'admin.kubeconfig')), 30_000);
  const node = `bench-ha-${Math.random().toString(36).slice(2, 7)}`;
  const agentDir = tmp('skiff-bench-ha-agent-');
  procs.push(
    spawn(
      process.execPath,
      [
        ...AGENT_FLAGS,
        join(root, 'dist/agent/main.js'),
        '--server',
        `https://127.0.0.1:${pa},${urlB}`,
        '--token-file',
        join(da, 'token'),
        '--node-name',
        node,
        '--data-dir',
        agentDir,
        '--pause-image',
        'skiff.local/pause:3.10',
        '--network',
        'bridge',
        '--metrics-bind-address',
        '',
        '--ingress-http-port',
        '0',
        '--ingress-https-port',
        '0',
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  );
  const running = () =>
    (
      kc(kubeconfig, urlB, [
        'get',
        'pods',
        '-l',
        'app=ha-bench',
        '--field-selector=status.phase=Running',
        '-o',
        'name',
      ]).stdout.match(/pod\//g) ?? []
    ).length;
  kc(kubeconfig, undefined, [
    'create',
    'deployment',
    'ha-bench',
    '--image=skiff.local/busybox:1.36',
    '--',
    'sleep',
    '3600',
  ]);
  await until('one replica Running', () => running() === 1, 60_000);
  a.kill('SIGKILL');
  const t0 = Date.now();
  const scaled = kc(kubeconfig, urlB, ['scale', 'deployment', 'ha-bench', '--replicas=2']);
  if (scaled.status !== 0) throw new Error(`scale through B: ${scaled.stderr}`);
  let leasesAt = 0;
  await until(
    'the second replica Running',
    () => {
      if (!leasesAt && holder(urlB).startsWith('bench-b_')) leasesAt = Date.now();
      return running() === 2;
    },
    90_000,
  );
  const done = Date.now();
  spawnSync('docker', [
    'rm',
    '-f',
    ...spawnSync('docker', ['ps', '-aq', '--filter', `label=io.skiff.node=${node}`], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean),
  ]);
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  return { leases: ((leasesAt || done) - t0) / 1000, running: (done - t0) / 1000 };
}

console.log(
  `\nseveral servers, ${new Date().toISOString()}: the API benchmark (create+get ConfigMaps, ${seconds} s per level) on three datastores`,
);
const backends = [
  ['SQLite', undefined],
  ['etcd, 1 member', await etcdCluster(1)],
  ['etcd, 3 members', await etcdCluster(3)],
];
const results = backends.map(([name, ds]) => [name, apiBench(ds)]);
for (const p of procs.splice(0)) p.kill('SIGKILL');
console.log(`| clients | ${results.map(([n]) => `${n} req/s (p50 / p99 ms)`).join(' | ')} |`);
console.log(`|---:|${results.map(() => '---:').join('|')}|`);
for (let i = 0; i < results[0][1].length; i++) {
  console.log(
    `| ${results[0][1][i].clients} | ${results.map(([, rows]) => `${rows[i].rps} (${rows[i].p50} / ${rows[i].p99})${rows[i].errors !== '0' ? ` ${rows[i].errors} errors` : ''}`).join(' | ')} |`,
  );
}

console.log('\nfailover: kill -9 of the leading server, a scale-up through the other at once');
console.log('| run | leader Leases on B (s) | new pod Running (s) |');
console.log('|---:|---:|---:|');
for (let r = 1; r <= runs; r++) {
  const f = await failover();
  console.log(`| ${r} | ${f.leases.toFixed(1)} | ${f.running.toFixed(1)} |`);
}
console.log(
  '(the Leases: 15 s lease duration + up to a 2 s retry, as kube-controller-manager; the rest is scheduling and one container start)',
);
process.exit(0);
