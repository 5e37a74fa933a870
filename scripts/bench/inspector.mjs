// Profiles of a running node process for the benchmarks, through its inspector
// (started with --inspect=127.0.0.1:PORT): CPU profiles of chosen phases, heap
// snapshots, process.memoryUsage(), and a summary of a .cpuprofile (self time by
// function) and of a .heapsnapshot (self size by constructor), so a benchmark can say
// which code the time and the memory go to.
import { createWriteStream, readFileSync } from 'node:fs';
import { get } from 'node:http';
import WebSocket from 'ws';

/** connect to the inspector on 127.0.0.1:port; resolves to a small CDP client */
export async function inspect(port) {
  const url = await new Promise((res, rej) => {
    get({ host: '127.0.0.1', port, path: '/json/list' }, (r) => {
      let b = '';
      r.on('data', (d) => {
        b += d;
      });
      r.on('end', () => {
        try {
          res(JSON.parse(b)[0].webSocketDebuggerUrl);
        } catch (e) {
          rej(e);
        }
      });
    }).on('error', rej);
  });
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 2 ** 31 });
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
  });
  let id = 0;
  const waiting = new Map();
  const listeners = new Map();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    if (m.id !== undefined) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error) w?.rej(new Error(m.error.message));
      else w?.res(m.result);
    } else listeners.get(m.method)?.(m.params);
  });
  const call = (method, params = {}) =>
    new Promise((res, rej) => {
      const i = ++id;
      waiting.set(i, { res, rej });
      ws.send(JSON.stringify({ id: i, method, params }));
    });
  return {
    call,
    /** start a CPU profile (1 ms sampling) */
    async startCpu() {
      await call('Profiler.enable');
      await call('Profiler.setSamplingInterval', { interval: 1000 });
      await call('Profiler.start');
    },
    /** stop it and write it to path (open it in Chrome DevTools); returns the profile */
    async stopCpu(path) {
      const { profile } = await call('Profiler.stop');
      if (path) createWriteStream(path).end(JSON.stringify(profile));
      return profile;
    },
    /** process.memoryUsage() of the inspected process, in MB */
    async memory() {
      const r = await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      const m = JSON.parse(r.result.value);
      return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v / 2 ** 20]));
    },
    /** a heap snapshot to path (after a full GC) */
    async heapSnapshot(path) {
      const out = createWriteStream(path);
      listeners.set('HeapProfiler.addHeapSnapshotChunk', (p) => out.write(p.chunk));
      await call('HeapProfiler.enable');
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      await new Promise((r) => out.end(r));
    },
    /** start V8's sampling heap profiler: from now on it keeps one sample per ~interval bytes allocated, while it lives */
    async startSampling(interval = 64 * 1024) {
      await call('HeapProfiler.enable');
      await call('HeapProfiler.startSampling', { samplingInterval: interval });
    },
    /** what of the sampled allocations is still alive (after a full GC), written to path (a .heapprofile for DevTools) */
    async samplingProfile(path) {
      await call('HeapProfiler.collectGarbage');
      const { profile } = await call('HeapProfiler.getSamplingProfile');
      if (path) createWriteStream(path).end(JSON.stringify(profile));
      return profile;
    },
    close() {
      ws.close();
    },
  };
}

/** self time by function (name file:line) of a CPU profile: [[what, percent]], top n */
export function topSelf(profile, n = 15) {
  const self = new Map();
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++)
    dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  let total = 0;
  for (const node of profile.nodes) {
    const t = dt.get(node.id) ?? 0;
    total += t;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + t);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, t]) => [k, (t / total) * 100]);
}

/**
 * live bytes of a sampling heap profile by allocating function (self) and by the code
 * path that led there (the innermost frames of our own code, `dist/…`): [[what, MB]], top n each
 */
export function topSampled(profile, n = 15) {
  const self = new Map();
  const ours = new Map();
  const name = (f) =>
    `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : ''}`.trim();
  const walk = (node, stack) => {
    const here = name(node.callFrame);
    const path = node.callFrame.url.includes('/dist/') ? [...stack, here].slice(-3) : stack;
    if (node.selfSize) {
      self.set(here, (self.get(here) ?? 0) + node.selfSize);
      const k = [...path].reverse().join(' < ') || '(no skiff frame)';
      ours.set(k, (ours.get(k) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c, path);
  };
  walk(profile.head, []);
  const top = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, b]) => [k, b / 2 ** 20]);
  return { self: top(self), ours: top(ours) };
}

/** self size by constructor (or node type) of a heap snapshot file: [[what, MB, count]], top n */
export function topHeap(path, n = 15) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const types = meta.node_types[0];
  const by = new Map();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    const name =
      type === 'object' || type === 'native' || type === 'closure'
        ? `${type} ${snap.strings[nodes[i + iName]]}`
        : `(${type})`;
    const e = by.get(name) ?? [0, 0];
    e[0] += nodes[i + iSize];
    e[1]++;
    by.set(name, e);
  }
  return [...by]
    .sort((a, b) => b[1][0] - a[1][0])
    .slice(0, n)
    .map(([k, [s, c]]) => [k, s / 2 ** 20, c]);
}
