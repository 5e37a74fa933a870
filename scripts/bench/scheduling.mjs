#!/usr/bin/env node
// Scheduling throughput benchmark (issue 15): a skiff-server with no agents, N Node objects
// (Ready, allocatable cpu/memory/pods) whose Leases in kube-node-lease are renewed every
// 10 s as kubelet does, then P pods created by C concurrent clients. A watch on the pods
// sees each one bound (spec.nodeName set): bind rate = pods bound / (last bound - first
// create), and create -> bound p50/p99 per pod. Run once per --scheduler-strategy. The
// physical limit printed beside it: the same clients creating objects that need no
// scheduling (ConfigMaps, and pods with spec.nodeName preset) — scheduling cannot beat
// the store's write rate.
// Usage: node scripts/bench/scheduling.mjs [--nodes 1000[,100]] [--pods 3000] [--clients 32]
//        [--strategies spread,binpack] [--cpu-prof-dir DIR] [--server-args "--flag v"]
import { request } from 'node:https';
import { opt, sleep, startCluster } from './cluster.mjs';

const nodeCounts = opt('nodes', '1000').split(',').map(Number);
const P = Number(opt('pods', '3000'));
const C = Number(opt('clients', '32'));
const strategies = opt('strategies', 'spread,binpack').split(',');
const profDir = opt('cpu-prof-dir', '');
const extraServerArgs = (opt('server-args', '') || '').split(' ').filter(Boolean);
const GOAL = 1000;

const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))] : NaN);

/** run `n` jobs with `c` workers; each job(i) is awaited */
async function pool(n, c, job) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) {
        const i = next++;
        await job(i);
      }
    }),
  );
}

async function must(p, what) {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.body.slice(0, 300)}`);
  return r;
}

function nodeBody(name) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
  };
}

function nodeStatus(node) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const res = { cpu: '32', memory: '64Gi', pods: '110' };
  return {
    ...node,
    status: {
      capacity: res,
      allocatable: res,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'hollow node',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
    },
  };
}

function podBody(name, nodeName) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'sched-bench' } },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [
        { name: 'c', image: 'skiff.local/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } },
      ],
    },
  };
}

/**
 * a watch on default's pods: first time each pod is seen with spec.nodeName. The server
 * may end a watch (a slow consumer, its timeout): resume from the last resourceVersion,
 * as an informer does.
 */
function watchBound({ port, ca, token }, onBound) {
  let rv = '0';
  let stopped = false;
  let req;
  let restarts = 0;
  const open = () =>
    new Promise((resolveWatch) => {
      req = request(
        {
          host: '127.0.0.1',
          port,
          path: `/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`,
          ca,
          servername: 'localhost',
          headers: { Authorization: `Bearer ${token}` },
        },
        (r) => {
          let buf = '';
          r.setEncoding('utf8');
          r.on('data', (d) => {
            buf += d;
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              const ev = JSON.parse(line);
              if (ev.type === 'ERROR') {
                rv = '0';
                continue;
              }
              rv = ev.object?.metadata?.resourceVersion ?? rv;
              if (ev.object?.spec?.nodeName) onBound(ev.object.metadata.name, performance.now());
            }
          });
          let reopened = false;
          const reopen = () => {
            if (!stopped && !reopened) {
              reopened = true;
              restarts++;
              void open();
            }
          };
          r.on('end', reopen);
          r.on('close', reopen);
          r.on('error', reopen);
          resolveWatch();
        },
      );
      req.on('error', () => {
        if (!stopped && !req.res) setTimeout(() => void open(), 100);
      });
      req.end();
    });
  return open().then(() => ({
    destroy() {
      stopped = true;
      req.destroy();
    },
    restarts: () => restarts,
  }));
}

async function run(nodes, strategy) {
  const serverNodeFlags = profDir
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        profDir,
        '--cpu-prof-name',
        `server-${strategy}-${nodes}-${Date.now()}.cpuprofile`,
      ]
    : [];
  const c = await startCluster({
    nodes: [],
    prefix: 'skiff-sched-bench-',
    serverArgs: ['--scheduler-strategy', strategy, ...extraServerArgs],
    serverNodeFlags,
  });
  try {
    for (let i = 0; i < 300; i++) {
      if ((await c.api('GET', '/readyz').catch(() => ({}))).status === 200) break;
      await sleep(100);
    }
    const names = Array.from({ length: nodes }, (_, i) => `hollow-${String(i).padStart(5, '0')}`);
    // Nodes, their Ready status and their Leases
    const leases = new Map();
    const tNodes = performance.now();
    await pool(nodes, C, async (i) => {
      const n = names[i];
      const created = (await must(c.api('POST', '/api/v1/nodes', nodeBody(n)), `create node ${n}`)).json;
      await must(c.api('PUT', `/api/v1/nodes/${n}/status`, nodeStatus(created)), `node status ${n}`);
      const lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: n, namespace: 'kube-node-lease' },
        spec: { holderIdentity: n, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') },
      };
      leases.set(
        n,
        (
          await must(
            c.api('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease),
            `lease ${n}`,
          )
        ).json,
      );
    });
    const nodeSecs = (performance.now() - tNodes) / 1000;
    // renew every Lease every 10 s, spread over the period (as 1000 kubelets would)
    let renewing = true;
    const renewals = (async () => {
      let k = 0;
      while (renewing) {
        const n = names[k++ % nodes];
        const l = leases.get(n);
        l.spec.renewTime = new Date().toISOString().replace('Z', '000Z');
        const r = await c
          .api('PUT', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n}`, l)
          .catch(() => ({}));
        if (r.status === 200) leases.set(n, r.json);
        await sleep(10_000 / nodes);
      }
    })();

    // the pods, watched until all are bound
    const created = new Map();
    const bound = new Map();
    let allBound;
    const allBoundP = new Promise((r) => {
      allBound = r;
    });
    const watch = await watchBound(c, (name, t) => {
      if (!name.startsWith('sched-') || bound.has(name)) return;
      bound.set(name, t);
      if (bound.size === P) allBound();
    });
    await sleep(200);
    const t0 = performance.now();
    let errors = 0;
    await pool(P, C, async (i) => {
      const name = `sched-${i}`;
      created.set(name, performance.now());
      const r = await c.api('POST', '/api/v1/namespaces/default/pods', podBody(name));
      if (r.status !== 201) errors++;
    });
    const tCreated = performance.now();
    const timeout = sleep(Number(opt('timeout', '120')) * 1000).then(() => 'timeout');
    const outcome = await Promise.race([allBoundP, timeout]);
    if (outcome === 'timeout') {
      const list = (await c.api('GET', '/api/v1/namespaces/default/pods')).json?.items ?? [];
      console.error(
        `timed out (watch restarts ${watch.restarts()}): the watch saw ${bound.size} bound, the API lists ${list.filter((p) => p.spec?.nodeName).length}/${list.length} bound`,
      );
    }
    const tLast = Math.max(...bound.values());
    const lat = [...bound].map(([n, t]) => t - created.get(n)).sort((a, b) => a - b);
    const watchRestarts = watch.restarts();
    watch.destroy();

    // the physical limit: creates that need no scheduling, same clients
    const limit = async (kind) => {
      const t = performance.now();
      await pool(P, C, async (i) => {
        const r =
          kind === 'cm'
            ? await c.api('POST', '/api/v1/namespaces/default/configmaps', {
                metadata: { name: `limit-${i}` },
                data: { k: 'v' },
              })
            : await c.api('POST', '/api/v1/namespaces/default/pods', podBody(`preset-${i}`, names[i % nodes]));
        if (r.status !== 201) errors++;
      });
      return P / ((performance.now() - t) / 1000);
    };
    const cmRate = await limit('cm');
    const presetRate = await limit('pod');
    renewing = false;
    await renewals;
    return {
      nodes,
      strategy,
      nodeSecs,
      createRate: P / ((tCreated - t0) / 1000),
      bindRate: bound.size / ((tLast - t0) / 1000),
      bound: bound.size,
      timedOut: outcome === 'timeout',
      watchRestarts,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      cmRate,
      presetRate,
      errors,
    };
  } finally {
    if (profDir) {
      c.server.kill('SIGTERM');
      await new Promise((r) => {
        if (c.server.exitCode !== null) r();
        else c.server.once('exit', r);
        setTimeout(r, 10_000);
      });
    }
    await c.cleanup();
  }
}

const rows = [];
const started = Date.now();
for (const n of nodeCounts)
  for (const s of strategies) {
    const r = await run(n, s);
    rows.push(r);
    console.error(
      `${s} ${n} nodes: ${r.bindRate.toFixed(0)} pods/s bound (${r.bound}/${P}${r.timedOut ? ', TIMED OUT' : ''})`,
    );
  }
const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
console.log(
  `\nskiff scheduling benchmark: ${P} pods (100m cpu, 128Mi) created by ${C} clients onto N Ready Node objects with renewed Leases, no agents; ${new Date().toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
console.log(`goal: >= ${GOAL} pods/s bound with 1000 nodes`);
console.log(
  '| strategy | nodes | pods created/s | pods bound/s | create->bound p50 ms | p99 ms | limit: ConfigMaps created/s | limit: pods with nodeName created/s | goal met | errors | watch restarts |',
);
console.log('|---|--:|--:|--:|--:|--:|--:|--:|:-:|--:|--:|');
for (const r of rows) {
  console.log(
    `| ${r.strategy} | ${r.nodes} | ${f(r.createRate)} | ${f(r.bindRate)}${r.bound < P ? ` (${r.bound}/${P} bound)` : ''} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.cmRate)} | ${f(r.presetRate)} | ${r.nodes >= 1000 ? (r.bindRate >= GOAL && r.bound === P ? 'yes' : 'no') : '-'} | ${r.errors} | ${r.watchRestarts} |`,
  );
}
process.exit(0);
