#!/usr/bin/env node
// Scale benchmark on hollow agents (scripts/bench/hollow.mjs): a fresh skiff-server on
// this machine and up to 1000 simulated nodes, each a real agent connection. Measures the
// server's CPU (from /proc/<pid>/stat) and RSS idle with 100 and with all nodes, the
// heartbeat cost per node, pods created by 32 clients and bound/Running (spread, then a
// second server with --scheduler-strategy binpack), API latency during that load, watch
// fan-out delay to 100 watchers, and RSS and list latency with 10k pods. Prints a table
// with the goals beside the figures. The binpack burst runs on the same server and nodes,
// through a second scheduler profile (--scheduler-profile binpack-scheduler=binpack, pods
// naming it in spec.schedulerName), so the 1000 nodes join once. With --profile DIR the
// server runs under its inspector and DIR gets a CPU profile of the join, of the idle 1000
// nodes, of the spread burst and of the 10k pods, a sampling heap profile of what the pods
// leave alive (from the idle phase to the 10k pods), memory figures,
// and summary.txt with their top items.
// Usage: node scripts/bench/scale.mjs [--nodes 1000] [--pods 3000] [--total-pods 10000]
//          [--idle-seconds 20] [--watchers 100] [--hollow-procs 2] [--no-binpack] [--profile DIR]
//          [--probe-pause-ms 100]
//          [--server-flags '--percentage-of-nodes-to-score 50'] [--server-node-flags '--max-semi-space-size=8']
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { opt, root, sleep, startCluster } from './cluster.mjs';
import { inspect, topHeap, topSampled, topSelf } from './inspector.mjs';

const NODES = Number(opt('nodes', '1000'));
const FEW = Math.min(100, NODES);
const PODS = Number(opt('pods', '3000'));
const TOTAL = Math.max(PODS, Number(opt('total-pods', '10000')));
const IDLE_S = Number(opt('idle-seconds', '20'));
const WATCHERS = Number(opt('watchers', '100'));
const FANOUT_PODS = Number(opt('fanout-pods', '200'));
const HOLLOW_PROCS = Math.max(1, Number(opt('hollow-procs', '2')));
const CLIENTS = 32;
const PROBE_PAUSE_MS = Number(opt('probe-pause-ms', '100'));
const BINPACK = !process.argv.includes('--no-binpack');
const PROF = opt('profile');
const EXTRA = (opt('server-flags') ?? '').split(' ').filter(Boolean);
/** node's own flags for the server process (e.g. '--max-semi-space-size=8') */
const NODE_FLAGS = (opt('server-node-flags') ?? '').split(' ').filter(Boolean);
const HZ = 100; // USER_HZ
const RUN_T0 = performance.now();
let failed;

const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const rssMb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const pct = (a, p) => {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const log = (m) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** CPU of these pids over `seconds`, in % of one core */
async function cpuOver(pids, seconds) {
  const a = pids.map(cpuTicks);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const s = (performance.now() - t0) / 1000;
  return pids.map((p, i) => ((cpuTicks(p) - a[i]) / HZ / s) * 100);
}

// whatever happens (a failed step, an error nobody awaited), no process or directory of
// this run outlives it: orphaned hollow agents would retry a dead server forever
const children = new Set();
const dirs = new Set();
process.on('exit', () => {
  for (const p of children) if (p.exitCode === null) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** one hollow.mjs process with nodes [first, first+n): resolves once all are started */
function startHollow(c, n, first) {
  const p = spawn(
    process.execPath,
    [
      join(root, 'scripts/bench/hollow.mjs'),
      '--server',
      `https://127.0.0.1:${c.port}`,
      '--token-file',
      join(c.dir, 'server/token'),
      '--data-dir',
      join(c.dir, 'hollow'),
      '--nodes',
      String(n),
      '--first',
      String(first),
      '--start-delay-ms',
      opt('start-delay-ms', '500'),
      '--start-rate',
      opt('start-rate', '200'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(p);
  return new Promise((res, rej) => {
    p.stdout.on('data', (d) => {
      if (/nodes started/.test(String(d))) res(p);
    });
    p.on('exit', (code) => rej(new Error(`hollow.mjs exited ${code}`)));
  });
}

/** a keep-alive socket the server closed as the request went out (ECONNRESET), or a handshake it timed out: send it again once */
function retryResets(cl) {
  const api = cl.api;
  cl.api = async (method, path, body) => {
    const r = await api(method, path, body).catch((e) => {
      if (e.code !== 'ECONNRESET') throw e;
      return api(method, path, body);
    });
    // a new connection whose TLS handshake the busy server did not finish in time: once more
    if (r.status === 400 && r.body.includes('ERR_TLS_HANDSHAKE_TIMEOUT')) return api(method, path, body);
    return r;
  };
}

/** SIGTERM (each removes its data dir), SIGKILL after 3 s */
async function stopHollow(ps) {
  await Promise.all(
    ps.map(
      (p) =>
        new Promise((r) => {
          if (p.exitCode !== null) return r();
          const t = setTimeout(() => p.kill('SIGKILL'), 3000);
          p.once('exit', () => {
            clearTimeout(t);
            r();
          });
          p.kill('SIGTERM');
        }),
    ),
  );
}

async function startNodes(c, n, first, procs) {
  const per = Math.ceil(n / procs);
  const ps = [];
  for (let i = 0; i * per < n; i++) ps.push(startHollow(c, Math.min(per, n - i * per), first + i * per));
  return Promise.all(ps);
}

async function waitReady(c, n) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const r = await c.api('GET', '/api/v1/nodes');
    const ready = (r.json?.items ?? []).filter((nd) =>
      nd.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
    ).length;
    if (ready >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${ready}/${n} nodes Ready`);
    await sleep(2000); // each look lists every Node (1000 of them: 3 MB to encrypt and parse)
  }
}

/** a watch on pods (namespace or all) handing each decoded event line to onLine; resolves once open */
let watchesEnded = 0;
function watch(c, path, onLine) {
  return new Promise((resolveOpen) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: c.port,
        path,
        agent: new Agent({ ca: c.ca }),
        servername: 'localhost',
        headers: { Authorization: `Bearer ${c.token}` },
      },
      (r) => {
        let buf = '';
        r.setEncoding('utf8');
        // a watch the server ended (its buffer behind this reader filled, or a timeout) sees no more events
        r.on('end', () => {
          watchesEnded++;
        });
        r.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        resolveOpen(req);
      },
    );
    req.end();
  });
}

const BINPACK_SCHEDULER = 'binpack-scheduler';
const podBody = (name, schedulerName) => ({
  metadata: { name, labels: { app: 'scale' } },
  spec: {
    ...(schedulerName ? { schedulerName } : {}),
    terminationGracePeriodSeconds: 0,
    containers: [
      { name: 'c', image: 'skiff.local/pause:3.10', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
    ],
  },
});

/** create pods name-from..to-1 in ns with CLIENTS concurrent clients; per-pod create-response times */
async function createPods(c, ns, prefix, from, to, acked = new Map(), schedulerName = undefined) {
  let next = from;
  const client = async () => {
    while (next < to) {
      const name = `${prefix}${next++}`;
      const r = await c.api('POST', `/api/v1/namespaces/${ns}/pods`, podBody(name, schedulerName));
      if (r.status !== 201 && r.status !== 409) throw new Error(`create ${name}: ${r.status} ${r.body.slice(0, 300)}`);
      acked.set(name, performance.now());
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return acked;
}

/** pods' first bind and first Running as one watch sees them */
async function trackPods(c, ns) {
  const bound = new Map();
  const running = new Map();
  const req = await watch(c, `/api/v1/namespaces/${ns}/pods?watch=true`, (line) => {
    const ev = JSON.parse(line);
    const name = ev.object?.metadata?.name;
    if (!name) return;
    if (ev.object.spec?.nodeName && !bound.has(name)) bound.set(name, performance.now());
    if (ev.object.status?.phase === 'Running' && !running.has(name)) running.set(name, performance.now());
  });
  // a watch the server ended (or that fell behind) is backed by a list every 3 s: what it
  // missed is counted at the time of that list
  const poll = setInterval(async () => {
    const r = await c.api('GET', `/api/v1/namespaces/${ns}/pods`).catch(() => undefined);
    const at = performance.now();
    for (const p of r?.json?.items ?? []) {
      const name = p.metadata.name;
      if (p.spec?.nodeName && !bound.has(name)) bound.set(name, at);
      if (p.status?.phase === 'Running' && !running.has(name)) running.set(name, at);
    }
  }, 3000);
  return {
    bound,
    running,
    stop: () => {
      clearInterval(poll);
      req.destroy();
    },
  };
}

async function until(cond, what, ms = 240_000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(100);
  }
}

/**
 * A GET as a client sees it: milliseconds from the request to the body's last byte, over its
 * own keep-alive connection. The body is counted, not parsed: parsing 10 MB of JSON in this
 * process would take the CPU the server is measured on.
 */
function timedGet(c, agent, path) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port: c.port,
        path,
        agent,
        servername: 'localhost',
        headers: { Authorization: `Bearer ${c.token}`, Accept: 'application/json' },
      },
      (r) => {
        let bytes = 0;
        r.on('data', (d) => {
          bytes += d.length;
        });
        r.on('end', () =>
          r.statusCode === 200
            ? res({ ms: performance.now() - t0, bytes })
            : rej(new Error(`GET ${path}: ${r.statusCode}`)),
        );
      },
    );
    req.on('error', rej);
    req.end();
  });
}

/** 3000 pods by 32 clients: created/s, bound/s, time to all Running; API latency meanwhile */
async function burst(c, ns, prefix, n, probeApi, schedulerName = undefined) {
  const t = await trackPods(c, ns);
  const lat = { list: [], get: [], bytes: 0 };
  let loading = true;
  // one probe in flight at a time, a short pause between two: a client polling, not a flood
  const prober = (async () => {
    if (!probeApi) return;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: c.ca });
    while (loading) {
      try {
        const l = await timedGet(c, agent, '/api/v1/pods');
        lat.list.push(l.ms);
        lat.bytes = Math.max(lat.bytes, l.bytes);
        lat.get.push(
          (await timedGet(c, agent, `/api/v1/namespaces/${ns}/pods/${prefix}0`).catch(() => ({ ms: NaN }))).ms,
        );
      } catch (e) {
        lat.errors = (lat.errors ?? 0) + 1;
        log(`API probe failed: ${e.message}`);
      }
      await sleep(PROBE_PAUSE_MS);
    }
    agent.destroy();
  })();
  const t0 = performance.now();
  await createPods(c, ns, prefix, 0, n, new Map(), schedulerName);
  const created = performance.now() - t0;
  await until(() => t.bound.size >= n, 'all pods bound');
  const boundAt = Math.max(...t.bound.values()) - t0;
  await until(() => t.running.size >= n, 'all pods Running');
  const runningAt = Math.max(...t.running.values()) - t0;
  loading = false;
  await prober;
  t.stop();
  return { created, boundAt, runningAt, lat };
}

const rows = [];
const row = (what, value, goal = '') => {
  rows.push([what, value, goal]);
  log(`${what}: ${value}`);
};
const f1 = (x) => x.toFixed(1);
const f0 = (x) => x.toFixed(0);

// ---- spread: idle, load, fan-out, 10k pods ----
log(`server + ${FEW} hollow nodes`);
const SERVER_ARGS = [
  '--cluster-cidr',
  '10.0.0.0/14',
  ...(BINPACK ? ['--scheduler-profile', `${BINPACK_SCHEDULER}=binpack`] : []),
  ...EXTRA,
];
const IPORT = 9300 + Math.floor(Math.random() * 600);
const c = await startCluster({
  nodes: [],
  prefix: 'skiff-scale-',
  serverArgs: SERVER_ARGS,
  serverNodeFlags: [...(PROF ? [`--inspect=127.0.0.1:${IPORT}`] : []), ...NODE_FLAGS],
});
children.add(c.server);
dirs.add(c.dir);
retryResets(c);
const prof = PROF ? await inspect(IPORT) : undefined;
if (PROF) mkdirSync(PROF, { recursive: true });
const note = (t) => {
  log(t);
  if (PROF) appendFileSync(join(PROF, 'summary.txt'), `${t}\n`);
};
/** with --profile: run fn under a CPU profile named name, and note its top self-time items */
async function profiled(name, fn) {
  if (!prof) return fn();
  await prof.startCpu();
  let r;
  try {
    r = await fn();
  } finally {
    const p = await prof.stopCpu(join(PROF, `${name}.cpuprofile`));
    note(
      `\n## CPU ${name}: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, self time\n${topSelf(p, 25)
        .map(([k, v]) => `${v.toFixed(1).padStart(5)} % ${k}`)
        .join('\n')}`,
    );
  }
  return r;
}
/** with --profile: process.memoryUsage(), and with snapshot a heap snapshot's largest constructors (it stops the server for many seconds: the agents reconnect after it) */
async function heap(name, snapshot) {
  if (!prof) return;
  note(
    `\n## memory ${name} (MB): ${JSON.stringify(await prof.memory(), (_k, v) => (typeof v === 'number' ? Math.round(v) : v))}`,
  );
  if (!snapshot) return;
  const path = join(PROF, `${name}.heapsnapshot`);
  await prof.heapSnapshot(path);
  note(
    `self size by constructor (MB, count)\n${topHeap(path, 20)
      .map(([k, mb, n]) => `${mb.toFixed(1).padStart(6)} ${String(n).padStart(8)} ${k}`)
      .join('\n')}`,
  );
}
const hollows = [];
try {
  hollows.push(...(await startNodes(c, FEW, 0, 1)));
  await waitReady(c, FEW);
  await sleep(5000);
  const [idleFew] = await cpuOver([c.server.pid], IDLE_S);
  row(`server CPU idle, ${FEW} nodes (% of one core)`, f1(idleFew));
  row(`server RSS idle, ${FEW} nodes (MB)`, f0(rssMb(c.server.pid)));
  if (NODES > FEW) {
    log(`${NODES - FEW} more hollow nodes`);
    const t0 = performance.now();
    await profiled(`join-${NODES - FEW}-nodes`, async () => {
      hollows.push(...(await startNodes(c, NODES - FEW, FEW, HOLLOW_PROCS)));
      await waitReady(c, NODES);
    });
    row(`${NODES - FEW} more hollow nodes Ready (s)`, f1((performance.now() - t0) / 1000));
    await sleep(10_000);
  }
  const [idleAll, ...hollowCpu] = await profiled(`idle-${NODES}-nodes`, () =>
    cpuOver([c.server.pid, ...hollows.map((h) => h.pid)], IDLE_S),
  );
  row(`server CPU idle, ${NODES} nodes (% of one core)`, f1(idleAll), NODES >= 1000 ? '≤ 10' : '');
  row(`server RSS idle, ${NODES} nodes (MB)`, f0(rssMb(c.server.pid)));
  await heap(`idle-${NODES}-nodes`);
  // what the pods' phases leave alive, by allocation site (a heap snapshot at 10k pods is over 1 GB)
  await prof?.startSampling();
  const perNodeUs = NODES > FEW ? (((idleAll - idleFew) / 100) * 1e6) / (NODES - FEW) : ((idleAll / 100) * 1e6) / NODES;
  row('heartbeat handling, server CPU per node per second (µs, marginal)', f0(perNodeUs));
  const hollowRss = hollows.reduce((s, h) => s + rssMb(h.pid), 0);
  row(
    `hollow agents: ${hollows.length} processes, RSS per node (MB) / CPU all (% core)`,
    `${(hollowRss / NODES).toFixed(2)} / ${f0(hollowCpu.reduce((s, x) => s + x, 0))}`,
  );

  log(`${PODS} pods by ${CLIENTS} clients (spread)`);
  const cpuA = cpuTicks(c.server.pid);
  const b = await profiled('burst-spread', () => burst(c, 'default', 'p-', PODS, true));
  row(`pods created/s (${PODS} pods, ${CLIENTS} clients)`, f0(PODS / (b.created / 1000)));
  row(`pods bound/s, spread (${NODES} nodes)`, f0(PODS / (b.boundAt / 1000)), '≥ 1000');
  row(`create → all ${PODS} Running (s)`, f1(b.runningAt / 1000));
  row(`server CPU during it (% of one core)`, f0(((cpuTicks(c.server.pid) - cpuA) / HZ / (b.runningAt / 1000)) * 100));
  const gets = b.lat.get.filter((x) => !Number.isNaN(x));
  row(
    `API p99 during load, one probe at a time: list all pods (up to ${(b.lat.bytes / 1e6).toFixed(1)} MB) / get one (ms)`,
    `${f0(pct(b.lat.list, 99))} / ${f0(pct(gets, 99))} (${b.lat.list.length} lists)`,
  );

  if (WATCHERS > 0) {
    log(`${WATCHERS} watchers, ${FANOUT_PODS} pods`);
    await c.api('POST', '/api/v1/namespaces', { metadata: { name: 'fanout' } });
    const seen = [];
    const acked = new Map();
    const pending = [];
    const ended = watchesEnded;
    const reqs = await Promise.all(
      Array.from({ length: WATCHERS }, () =>
        watch(c, '/api/v1/namespaces/fanout/pods?watch=true', (line) => {
          if (!line.startsWith('{"type":"ADDED"')) return;
          const m = /"name":"([^"]+)"/.exec(line);
          if (m) pending.push([m[1], performance.now()]);
        }),
      ),
    );
    await createPods(c, 'fanout', 'w-', 0, FANOUT_PODS, acked);
    await until(
      () => pending.length >= WATCHERS * FANOUT_PODS,
      () =>
        `every watcher to see every pod (${pending.length} of ${WATCHERS * FANOUT_PODS} seen; ${watchesEnded - ended} watches ended by the server)`,
      60_000,
    );
    for (const [name, at] of pending) seen.push(Math.max(0, at - acked.get(name)));
    for (const r of reqs) r.destroy();
    row(
      `watch fan-out: ${WATCHERS} watchers, delay after the create's response p50 / p99 (ms)`,
      `${f0(pct(seen, 50))} / ${f0(pct(seen, 99))}`,
    );
  }

  // binpack: the same nodes, a second scheduler profile (MostAllocated) named in the pods
  let binpacked = 0;
  if (BINPACK) {
    log(`${PODS} pods by ${CLIENTS} clients (binpack, schedulerName ${BINPACK_SCHEDULER})`);
    await c.api('POST', '/api/v1/namespaces', { metadata: { name: 'binpack' } });
    const bp = await burst(c, 'binpack', 'b-', PODS, false, BINPACK_SCHEDULER);
    binpacked = PODS;
    row(
      `pods bound/s, binpack (${NODES} nodes, ${PODS} pods already on them)`,
      f0(PODS / (bp.boundAt / 1000)),
      '≥ 1000',
    );
    row(`create → all ${PODS} Running, binpack (s)`, f1(bp.runningAt / 1000));
  }

  // the rest of the 10k pods (the pods above count)
  const more = TOTAL - PODS - binpacked - (WATCHERS > 0 ? FANOUT_PODS : 0);
  if (more > 0) {
    log(`${more} more pods (${TOTAL} in all)`);
    await profiled(`pods-to-${TOTAL}`, async () => {
      const t = await trackPods(c, 'default');
      await createPods(c, 'default', 'p-', PODS, PODS + more);
      await until(() => t.running.size >= PODS + more, `all ${PODS + more} pods of default Running`);
      t.stop();
    });
  }
  const restFrom = performance.now();
  await sleep(5000);
  const total = PODS + binpacked + (WATCHERS > 0 ? FANOUT_PODS : 0) + Math.max(0, more);
  row(`server RSS, ${NODES} nodes + ${total} pods, 5 s after the last pod was Running (MB)`, f0(rssMb(c.server.pid)));
  const lists = [];
  const listAgent = new Agent({ keepAlive: true, maxSockets: 1, ca: c.ca });
  for (let i = 0; i < 5; i++) {
    const l = await timedGet(c, listAgent, '/api/v1/pods');
    if (!i) log(`list: ${(l.bytes / 1e6).toFixed(1)} MB`);
    lists.push(l.ms);
  }
  listAgent.destroy();
  row(`list of ${total} pods, GET /api/v1/pods JSON to its last byte, median of 5 (ms)`, f0(pct(lists, 50)), '≤ 1000');
  const [idleLoaded] = await cpuOver([c.server.pid], Math.min(IDLE_S, 10));
  row(`server CPU idle, ${NODES} nodes + ${total} pods (% of one core)`, f1(idleLoaded));
  // at rest: V8 shrinks its heap once allocation has slowed down for a while (its memory reducer)
  await sleep(Math.max(0, 30_000 - (performance.now() - restFrom)));
  row(
    `server RSS at rest, 30 s after the last pod was Running (MB)`,
    f0(rssMb(c.server.pid)),
    NODES >= 1000 && total >= 10000 ? '≤ 300' : '',
  );
  await heap(`${NODES}-nodes-${total}-pods`, false);
  if (prof) {
    const live = topSampled(await prof.samplingProfile(join(PROF, `${NODES}-nodes-${total}-pods.heapprofile`)), 25);
    const lines = (l) => l.map(([k, mb]) => `${mb.toFixed(1).padStart(7)} ${k}`).join('\n');
    note(`\n## live since the idle phase (sampled, MB) by allocating function\n${lines(live.self)}`);
    note(`\n## the same by skiff's innermost frames\n${lines(live.ours)}`);
  }
} catch (e) {
  // the table of what was measured is printed all the same, with where the run stopped
  failed = e;
  row('the run stopped', String(e?.message ?? e));
} finally {
  prof?.close();
  await stopHollow(hollows);
  await c.cleanup();
}

row('the whole benchmark (s)', f0((performance.now() - RUN_T0) / 1000), '< 300');
console.log(`\nskiff scale benchmark on hollow agents, ${NODES} nodes, ${new Date().toISOString()}`);
console.log('| what | skiff | goal |');
console.log('|---|---:|---:|');
for (const [w, v, g] of rows) console.log(`| ${w} | ${v} | ${g} |`);
process.exit(failed ? 1 : 0);
