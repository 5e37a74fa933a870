#!/usr/bin/env node
// NetworkPolicy cost on Service throughput: a fresh skiff-server and skiff-agent (the default
// pod network), a 2-replica busybox httpd Deployment behind a ClusterIP Service, and a client
// that is judged like a pod: a network namespace on the pod bridge with an address of the
// node's pod subnet, so its connections go through FORWARD (after the ClusterIP DNAT) like a
// pod's, where the policy chains are. Then, in the same run, HTTP requests with a new TCP
// connection per request (each one a NEW connection through the chains) for D seconds each:
// with no NetworkPolicy, with 50 in the namespace selecting the backends (each admitting
// another /24 and another podSelector, the last one also the client: the client's NEW
// connections walk every rule), in rounds of one row each (ABBA ABBA ... after a warm-up).
// Prints requests/s, latency percentiles, and the with/without ratio (means, and the median
// of the rounds' ratios, which shrugs off a busy moment on a shared machine); then, with the
// policies in place, the same Service bench against backends they select and, at the same
// moment, against identical backends they do not select (bench-other): co-tenants' load hits
// both halves alike.
// Must run as root with no other skiff agent owning this host's pod network.
// Usage: node scripts/bench/netpol.mjs [--seconds 4] [--rounds 6] [--concurrency 16] [--policies 50]
import { spawn, spawnSync } from 'node:child_process';
import { opt, sleep, startCluster } from './cluster.mjs';

const SECONDS = Number(opt('seconds', '4'));
const CONC = Number(opt('concurrency', '16'));
const POLICIES = Number(opt('policies', '50'));
const ROUNDS = Number(opt('rounds', '6'));
const id = Math.random().toString(36).slice(2, 7);
const node = `bench-${id}`;
const NS = `skiff-bench-np-${id}`;
const VETH = `sbnp${id}`;
const { api: call, cleanup } = await startCluster({ nodes: [node], prefix: 'skiff-bench-netpol-' });
const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const until = async (what, fn, ms = 60_000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
};

// the client: runs in the namespace, prints {ok, errors, p50, p99}
const CLIENT = `
import { request } from 'node:http';
const [host, port, seconds, conc] = process.argv.slice(-4);
const lat = []; let errors = 0;
const get = () => new Promise((res) => { const t0 = process.hrtime.bigint(); const r = request({ host, port: Number(port), path: '/', agent: false, timeout: 5000 }, (x) => { x.resume(); x.on('end', () => res(x.statusCode === 200 ? Number(process.hrtime.bigint() - t0) / 1e6 : -1)); }); r.on('error', () => res(-1)); r.on('timeout', () => r.destroy()); r.end(); });
const end = Date.now() + Number(seconds) * 1000;
await Promise.all(Array.from({ length: Number(conc) }, async () => { while (Date.now() < end) { const ms = await get(); if (ms < 0) errors++; else lat.push(ms); } }));
lat.sort((a, b) => a - b);
const q = (x) => lat[Math.min(lat.length - 1, Math.floor(x * lat.length))] ?? NaN;
console.log(JSON.stringify({ ok: lat.length, errors, p50: q(0.5), p99: q(0.99) }));
`;
const runClient = (host, port, seconds, conc = CONC) =>
  new Promise((resolve, reject) => {
    const p = spawn(
      'ip',
      [
        'netns',
        'exec',
        NS,
        process.execPath,
        '--input-type=module',
        '-e',
        CLIENT,
        '--',
        host,
        String(port),
        String(seconds),
        String(conc),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`client exit ${code}`)),
    );
  });

let nsMade = false;
try {
  const labels = { app: 'bench-web' };
  // bench-web is what the policies select; bench-other, the same, is selected by none (the
  // simultaneous comparison at the end)
  const deploy = async (name) => {
    const l = { app: name };
    await call('POST', '/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: 2,
        selector: { matchLabels: l },
        template: {
          metadata: { labels: l },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'skiff.local/busybox:1.36',
                command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    });
    const svc = (
      await call('POST', '/api/v1/namespaces/default/services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { selector: l, ports: [{ port: 80, targetPort: 8080 }] },
      })
    ).json;
    await until(`2 ready endpoints of ${name}`, async () => {
      const ep = (await call('GET', `/api/v1/namespaces/default/endpoints/${name}`)).json;
      return (ep?.subsets ?? []).flatMap((s) => s.addresses ?? []).length === 2;
    });
    return svc.spec.clusterIP;
  };
  const [clusterIP, otherIP] = [await deploy('bench-web'), await deploy('bench-other')];
  // the client namespace on the pod bridge, at .250 of the node's pod subnet
  const podCIDR = (await call('GET', `/api/v1/nodes/${node}`)).json.spec.podCIDR;
  const base = podCIDR.split('/')[0].split('.').slice(0, 3).join('.');
  const clientIP = `${base}.250`;
  sh('ip', ['netns', 'add', NS]);
  nsMade = true;
  sh('ip', ['link', 'add', VETH, 'type', 'veth', 'peer', 'name', `${VETH}c`]);
  sh('ip', ['link', 'set', `${VETH}c`, 'netns', NS]);
  sh('ip', ['link', 'set', VETH, 'master', 'skiff0', 'up']);
  for (const args of [
    ['addr', 'add', `${clientIP}/24`, 'dev', `${VETH}c`],
    ['link', 'set', `${VETH}c`, 'up'],
    ['link', 'set', 'lo', 'up'],
    ['route', 'add', 'default', 'via', `${base}.1`],
  ])
    sh('ip', ['netns', 'exec', NS, 'ip', ...args]);
  await until('the ClusterIP answers the client', async () => (await runClient(clusterIP, 80, 1)).ok > 0);

  const policy = (i) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `np-${String(i).padStart(2, '0')}` },
    spec: {
      podSelector: { matchLabels: labels },
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: `client-${i}` } } },
            { ipBlock: { cidr: `10.200.${i}.0/24` } },
            ...(i === POLICIES - 1 ? [{ ipBlock: { cidr: `${clientIP}/32` } }] : []),
          ],
          ports: [{ port: 8080 }],
        },
      ],
    },
  });
  const npRules = () =>
    sh('iptables-save', ['-t', 'filter'])
      .split('\n')
      .filter((l) => /^-A SKIFF-NP-[IEPX]-/.test(l));
  const withPolicies = async () => {
    for (let i = 0; i < POLICIES; i++)
      await call('POST', '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies', policy(i));
    // both backends' chains in place, with the last policy's peer chain admitting the client
    return until('the policy chains', async () => {
      const r = npRules();
      const backends = new Set(r.filter((l) => l.startsWith('-A SKIFF-NP-I-')).map((l) => l.split(' ')[1]));
      return backends.size === 2 && r.some((l) => l.includes(`-s ${clientIP}/32`)) ? r.length : undefined;
    });
  };
  const withoutPolicies = async () => {
    await call('DELETE', '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies');
    await until('no policy chains', async () => npRules().length === 0);
  };
  const rows = [];
  // packets counted on the rule admitting the client (the last policy's, in the backends'
  // chains): proof that every NEW connection walked the chain to its end
  const clientMatches = () =>
    sh('iptables-save', ['-c', '-t', 'filter'])
      .split('\n')
      .filter((l) => l.includes(`-s ${clientIP}/32`) && / -A SKIFF-NP-[IP]-/.test(l))
      .reduce((a, l) => a + Number(/^\[(\d+):/.exec(l)?.[1] ?? 0), 0);
  let matched = 0;
  const run = async (label) => {
    const r = await runClient(clusterIP, 80, SECONDS);
    rows.push({ label, rps: r.ok / SECONDS, p50: r.p50, p99: r.p99, errors: r.errors });
    if (label !== 'no NetworkPolicy') matched = Math.max(matched, clientMatches());
  };
  await runClient(clusterIP, 80, 3); // warm-up, not counted
  // rounds of one row each, in the order ABBA ABBA ...: drift on a shared machine cancels,
  // and each round gives one with/without ratio
  let ruleCount = 0;
  let on = false;
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const got = {};
    for (const want of round % 2 ? [true, false] : [false, true]) {
      if (want && !on) ruleCount = await withPolicies();
      if (!want && on) await withoutPolicies();
      on = want;
      await run(want ? `${POLICIES} NetworkPolicies` : 'no NetworkPolicy');
      got[want] = rows[rows.length - 1].rps;
    }
    ratios.push(got[true] / got[false]);
  }
  console.log(
    `\nService throughput with NetworkPolicy: a client on the pod bridge (judged like a pod), ${CONC} concurrent connections, a new TCP connection per request to the ClusterIP, ${SECONDS} s per row (busybox httpd backends); ${POLICIES} policies = ${ruleCount} rules in the SKIFF-NP chains; the rules admitting the client matched ${matched} new connections in one set of rows\n`,
  );
  console.log('| NetworkPolicies | req/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(`| ${r.label} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`);
  const avg = (f) => {
    const xs = rows.filter(f);
    return xs.reduce((a, r) => a + r.rps, 0) / xs.length;
  };
  const none = avg((r) => r.label.startsWith('no'));
  const some = avg((r) => !r.label.startsWith('no'));
  console.log(`\nmean req/s: ${none.toFixed(0)} without, ${some.toFixed(0)} with ${POLICIES} policies`);
  console.log(
    `with ${POLICIES} policies / without: ${(some / none).toFixed(3)} by the means (${((1 - some / none) * 100).toFixed(1)} % fewer requests/s)`,
  );
  const sorted = [...ratios].sort((a, b) => a - b);
  const median =
    sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]
      : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  console.log(
    `per-round ratios: ${ratios.map((r) => r.toFixed(2)).join(' ')}; median ${median.toFixed(3)} (${((1 - median) * 100).toFixed(1)} % fewer requests/s)`,
  );
  // the same moment for both: half the clients to the selected backends, half to the others;
  // the same pairs without policies measure how alike the two halves are (ABBA again)
  const pairs = { true: [], false: [] };
  for (const want of [true, false, false, true, true, false]) {
    if (want && !on) ruleCount = await withPolicies();
    if (!want && on) await withoutPolicies();
    on = want;
    const [a, b] = await Promise.all([
      runClient(clusterIP, 80, SECONDS, CONC / 2),
      runClient(otherIP, 80, SECONDS, CONC / 2),
    ]);
    pairs[want].push([a.ok / SECONDS, b.ok / SECONDS]);
  }
  console.log(
    `\nAt the same time (${CONC / 2} clients each, ${SECONDS} s per row): bench-web (what the policies select) and bench-other (selected by none)\n`,
  );
  console.log('| NetworkPolicies | bench-web req/s | bench-other req/s | ratio |');
  console.log('|---|---:|---:|---:|');
  const share = (ps) => ps.reduce((x, p) => x + p[0], 0) / ps.reduce((x, p) => x + p[1], 0);
  for (const want of [false, true])
    for (const [a, b] of pairs[want])
      console.log(`| ${want ? POLICIES : 'none'} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(a / b).toFixed(3)} |`);
  const rel = share(pairs.true) / share(pairs.false);
  console.log(
    `\nbench-web / bench-other: ${share(pairs.false).toFixed(3)} without policies, ${share(pairs.true).toFixed(3)} with ${POLICIES}: the policies cost ${((1 - rel) * 100).toFixed(1)} % of bench-web's requests/s\n`,
  );
} finally {
  if (nsMade) spawnSync('ip', ['netns', 'del', NS]);
  spawnSync('ip', ['link', 'del', VETH]);
  await cleanup();
  process.exit(0);
}
