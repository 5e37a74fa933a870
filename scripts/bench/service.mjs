#!/usr/bin/env node
// Service throughput benchmark: a fresh skiff-server and skiff-agent (the default pod
// network: bridge, iptables service proxy) on this machine; a 2-replica busybox httpd
// Deployment behind a ClusterIP Service; then, in the same run, HTTP requests from this
// host with a new TCP connection per request (so every request goes through the DNAT
// rules) for D seconds each: straight to one pod IP, through the ClusterIP, and again in
// the opposite order. Prints requests/s, latency percentiles and the ClusterIP/pod ratio.
// Must run as root with no other skiff agent owning this host's pod network.
// Usage: node scripts/bench/service.mjs [--seconds 8] [--concurrency 16]
import { request as httpRequest } from 'node:http';
import { opt, startCluster } from './cluster.mjs';

const SECONDS = Number(opt('seconds', '8'));
const CONC = Number(opt('concurrency', '16'));
const node = `bench-${Math.random().toString(36).slice(2, 7)}`;
const { api: call, cleanup } = await startCluster({ nodes: [node], prefix: 'skiff-bench-svc-' });
const until = async (what, fn, ms = 60_000) => {
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
  const clusterIP = svc.spec.clusterIP;
  const podIPs = await until('2 ready endpoints', async () => {
    const ep = (await call('GET', '/api/v1/namespaces/default/endpoints/bench-web')).json;
    const ips = (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
    return ips.length === 2 ? ips : undefined;
  });
  const get = (host, p) =>
    new Promise((res) => {
      const t0 = process.hrtime.bigint();
      const req = httpRequest({ host, port: p, path: '/', agent: false, timeout: 5000 }, (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode === 200 ? Number(process.hrtime.bigint() - t0) / 1e6 : -1));
      });
      req.on('error', () => res(-1));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  await until('the ClusterIP answers', async () => (await get(clusterIP, 80)) > 0);
  const run = async (label, host, p) => {
    const lat = [];
    let errors = 0;
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (Date.now() < end) {
          const ms = await get(host, p);
          if (ms < 0) errors++;
          else lat.push(ms);
        }
      }),
    );
    lat.sort((a, b) => a - b);
    const q = (x) => lat[Math.min(lat.length - 1, Math.floor(x * lat.length))] ?? NaN;
    return { label, rps: lat.length / SECONDS, p50: q(0.5), p99: q(0.99), errors };
  };
  const rows = [];
  rows.push(await run(`pod IP ${podIPs[0]}:8080`, podIPs[0], 8080));
  rows.push(await run(`ClusterIP ${clusterIP}:80`, clusterIP, 80));
  rows.push(await run(`ClusterIP ${clusterIP}:80`, clusterIP, 80));
  rows.push(await run(`pod IP ${podIPs[0]}:8080`, podIPs[0], 8080));
  console.log(
    `\nService throughput: ${CONC} concurrent clients on this host, a new TCP connection per request, ${SECONDS} s per row (busybox httpd backends)\n`,
  );
  console.log('| target | req/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(`| ${r.label} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`);
  const avg = (f) => rows.filter(f).reduce((a, r) => a + r.rps, 0) / 2;
  const pod = avg((r) => r.label.startsWith('pod'));
  const cip = avg((r) => r.label.startsWith('Cluster'));
  console.log(
    `\nClusterIP / pod IP throughput ratio: ${(cip / pod).toFixed(2)} (ClusterIP spreads over 2 backends, pod IP hits one)`,
  );
} finally {
  await cleanup();
  process.exit(0);
}
