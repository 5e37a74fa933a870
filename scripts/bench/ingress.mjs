#!/usr/bin/env node
// Ingress throughput benchmark: a fresh skiff-server and skiff-agent (the default pod
// network, so the ClusterIP works from this host; the agent's ingress HTTP listener on a
// free high port), a 2-replica busybox httpd Deployment behind a ClusterIP Service and an
// Ingress for bench.test in front of it; then, in the same run, HTTP GETs from this host
// for D seconds each: straight to one pod IP, through the ClusterIP, through the Ingress
// (Host: bench.test), and again in reverse order; once with a new TCP connection per
// request, once with keep-alive clients (busybox httpd closes every connection itself, so
// only the client-to-Ingress connection is reused). Prints requests/s, latency percentiles
// and the Ingress/ClusterIP and Ingress/pod ratios. `--network bridge` (several agents share this host) leaves the ClusterIP rows out.
// Must run as root; with the default network, no other skiff agent may own this host's pod network.
// Usage: node scripts/bench/ingress.mjs [--seconds 8] [--concurrency 16] [--network skiff|bridge]
import { createServer } from 'node:net';
import { Agent, request as httpRequest } from 'node:http';
import { opt, startCluster } from './cluster.mjs';

const SECONDS = Number(opt('seconds', '8'));
const CONC = Number(opt('concurrency', '16'));
const NETWORK = opt('network', 'skiff');
const node = `bench-${Math.random().toString(36).slice(2, 7)}`;
const ingressPort = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const { api: call, cleanup } = await startCluster({
  nodes: [node],
  network: NETWORK,
  agentArgs: ['--ingress-http-port', String(ingressPort), '--ingress-https-port', '0'],
  prefix: 'skiff-bench-ing-',
});
const until = async (what, fn, ms = 90_000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

try {
  const labels = { app: 'bench-web' };
  await call('POST', '/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench-web' },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'skiff.local/busybox:1.36',
              command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'],
              ports: [{ containerPort: 8080 }],
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
      metadata: { name: 'bench-web' },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    })
  ).json;
  const created = await call('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'bench' },
    spec: {
      rules: [
        {
          host: 'bench.test',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'bench-web', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  });
  if (created.status !== 201) throw new Error(`creating the Ingress: ${created.status} ${created.body}`);
  const clusterIP = svc.spec.clusterIP;
  const podIPs = await until('2 ready endpoints', async () => {
    const ep = (await call('GET', '/api/v1/namespaces/default/endpoints/bench-web')).json;
    const ips = (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
    return ips.length === 2 ? ips : undefined;
  });
  let agent = false;
  const get = (host, p, hostHeader) =>
    new Promise((res) => {
      const t0 = process.hrtime.bigint();
      const req = httpRequest(
        { host, port: p, path: '/', agent, timeout: 5000, ...(hostHeader ? { headers: { Host: hostHeader } } : {}) },
        (r) => {
          r.resume();
          r.on('end', () => res(r.statusCode === 200 ? Number(process.hrtime.bigint() - t0) / 1e6 : -1));
        },
      );
      req.on('error', () => res(-1));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  const withClusterIP = NETWORK === 'skiff';
  if (withClusterIP) await until('the ClusterIP answers', async () => (await get(clusterIP, 80)) > 0);
  await until('the Ingress answers', async () => (await get('127.0.0.1', ingressPort, 'bench.test')) > 0);
  const run = async (label, host, p, hostHeader, seconds = SECONDS) => {
    const lat = [];
    let errors = 0;
    const end = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (Date.now() < end) {
          const ms = await get(host, p, hostHeader);
          if (ms < 0) errors++;
          else lat.push(ms);
        }
      }),
    );
    lat.sort((a, b) => a - b);
    const q = (x) => lat[Math.min(lat.length - 1, Math.floor(x * lat.length))] ?? NaN;
    return { label, rps: lat.length / seconds, p50: q(0.5), p99: q(0.99), errors };
  };
  const targets = [
    [`pod IP ${podIPs[0]}:8080`, podIPs[0], 8080],
    ...(withClusterIP ? [[`ClusterIP ${clusterIP}:80`, clusterIP, 80]] : []),
    [`Ingress 127.0.0.1:${ingressPort} (Host: bench.test)`, '127.0.0.1', ingressPort, 'bench.test'],
  ];
  // warm-up (JIT, connection tables), not counted
  for (const t of targets) await run(t[0], t[1], t[2], t[3], 2);
  for (const mode of ['a new TCP connection per request', 'keep-alive clients']) {
    agent = mode.startsWith('keep') ? new Agent({ keepAlive: true, maxSockets: CONC }) : false;
    const rows = [];
    for (const t of [...targets, ...[...targets].reverse()]) rows.push(await run(...t));
    console.log(
      `\nIngress throughput: ${CONC} concurrent clients on this host, ${mode}, ${SECONDS} s per row (busybox httpd backends, 2 replicas)\n`,
    );
    console.log('| target | req/s | p50 ms | p99 ms | errors |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows)
      console.log(`| ${r.label} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`);
    const avg = (prefix) => rows.filter((r) => r.label.startsWith(prefix)).reduce((a, r) => a + r.rps, 0) / 2;
    const ing = avg('Ingress');
    console.log('');
    if (withClusterIP) console.log(`Ingress / ClusterIP throughput ratio: ${(ing / avg('ClusterIP')).toFixed(2)}`);
    console.log(
      `Ingress / pod IP throughput ratio: ${(ing / avg('pod')).toFixed(2)} (the Ingress and the ClusterIP spread over 2 backends, pod IP hits one)`,
    );
    if (agent) agent.destroy();
  }
} finally {
  await cleanup();
  process.exit(0);
}
