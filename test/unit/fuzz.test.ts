// Property-based fuzzing of a whole skiff-server in this process (runServer: TLS, the API,
// the upgrade guard, the agent gateway), with fast-check at a fixed seed and a bounded
// number of runs: generated bodies of every content type against create/update/patch/
// apply and list query strings; generated upgrade request lines, authenticated or not;
// generated agent messages over a real agent WebSocket. Asserted: the process survives
// (an uncaught exception would fail this file), no answer is a 5xx, every error answer is
// a Kubernetes Status, the server still answers /healthz, and memory stays bounded.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseServerArgs } from '../../controlplane/config.js';
import { runServer } from '../../controlplane/server.js';

const SEED = 20261204;

let server: { stop(): Promise<void>; url: string };
let dir = '';
let port = 0;
let token = '';
let joinToken = '';
let ca = '';
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

interface Answer {
  status: number;
  body: string;
}

/** headersOnly: a 2xx answer resolves at its headers (a watch that was accepted streams on) */
function call(
  method: string,
  path: string,
  body?: Buffer | string,
  contentType?: string,
  auth = true,
  headersOnly = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = `Bearer ${token}`;
    if (contentType) headers['content-type'] = contentType;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers,
        ca,
        agent: headersOnly ? false : agent,
        servername: 'localhost',
      },
      (res) => {
        if (headersOnly && (res.statusCode ?? 0) < 300) {
          resolve({ status: res.statusCode ?? 0, body: '' });
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** no 5xx; an error answer is a Status with the same code */
function expectSane(a: Answer, what: string): void {
  expect(a.status, `${what}: ${a.body.slice(0, 300)}`).toBeLessThan(500);
  if (a.status >= 400) {
    const s = JSON.parse(a.body) as { kind?: string; code?: number; status?: string };
    expect(s.kind, what).toBe('Status');
    expect(s.code, what).toBe(a.status);
    expect(s.status, what).toBe('Failure');
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-fuzz-'));
  server = await runServer(parseServerArgs(['--data-dir', dir, '--listen', '127.0.0.1:0', '--log-level', 'fatal']));
  port = Number(new URL(server.url).port);
  token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  joinToken = readFileSync(join(dir, 'token'), 'utf8').trim();
  ca = readFileSync(join(dir, 'tls', 'server-ca.crt'), 'utf8');
  const cm = await call(
    'POST',
    '/api/v1/namespaces/default/configmaps',
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fuzz' }, data: { a: '1' } }),
    'application/json',
  );
  expect(cm.status).toBe(201);
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// ---- generators

const CONTENT_TYPES = [
  'application/json',
  'application/yaml',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
  'application/vnd.kubernetes.protobuf',
  'text/plain',
  'application/x-garbage',
];

const nasty = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  '',
  '$patch',
  '$retainKeys',
  '$setElementOrder/containers',
  'metadata',
  'spec',
  'replicas',
  'name',
  'a'.repeat(300),
);
const numbers = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e300, -0));
const leaf = fc.oneof(fc.string({ maxLength: 20 }), numbers, fc.boolean(), fc.constant(null));
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(nasty, fc.string({ maxLength: 8 })), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** Kubernetes-shaped objects with generated holes, and the odd deep or raw body */
const objectBody = fc.record(
  {
    apiVersion: fc.constantFrom('v1', 'apps/v1', 'x', ''),
    kind: fc.constantFrom('ConfigMap', 'Deployment', 'Pod', 'Status', ''),
    metadata: fc.oneof(
      fc.record(
        {
          name: fc.constantFrom('fuzz', 'f-1', 'Bad_Name', ''),
          labels: fc.dictionary(fc.oneof(nasty, fc.string({ maxLength: 10 })), fc.string({ maxLength: 10 }), {
            maxKeys: 3,
          }),
        },
        { requiredKeys: [] },
      ),
      value,
    ),
    data: value,
    spec: value,
  },
  { requiredKeys: [] },
);

const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);
const body = fc.oneof(
  { weight: 5, arbitrary: objectBody.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(5_000, 10_001, 30_000, 200_000)
      .chain((n) =>
        fc.constantFrom(
          deep(n, '[', ']'),
          deep(n, '{"a":', '}'),
          deep(n, '{a: ', '}'),
          `${'- '.repeat(Math.min(n, 20_000))}x`,
          `a: &a [${'*a,'.repeat(200)}]`,
        ),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"replicas": 1e400}',
      '[{"op":"add","path":"/data/x","value":1}]',
      '[{"op":"move","from":"/","path":"/a"}]',
      '{"metadata":{"__proto__":{"polluted":1}}}',
      '\u0000\u0001k8s\u0000',
      'k8s\u0000\n\u0002v1\u0012\u0003Pod',
    ),
  },
);

const target = fc.constantFrom(
  { method: 'POST', path: '/api/v1/namespaces/default/configmaps' },
  { method: 'POST', path: '/apis/apps/v1/namespaces/default/deployments' },
  { method: 'POST', path: '/api/v1/namespaces/default/pods?fieldValidation=Strict' },
  { method: 'PUT', path: '/api/v1/namespaces/default/configmaps/fuzz' },
  { method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/fuzz' },
  { method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/fuzz?fieldManager=fuzz&force=true' },
  { method: 'PATCH', path: '/apis/apps/v1/namespaces/default/deployments/nope/scale' },
  { method: 'POST', path: '/api/v1/namespaces' },
);

describe('fuzz (fast-check, fixed seed)', () => {
  it('bodies of every content type: no 5xx, every error a Status', async () => {
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom(...CONTENT_TYPES), body, async (t, ct, b) => {
        expectSane(await call(t.method, t.path, b, ct), `${t.method} ${t.path} (${ct})`);
      }),
      { seed: SEED, numRuns: 400 },
    );
    expectSane(await call('GET', '/healthz'), 'healthz');
  }, 300_000);

  it('list and watch query strings: no 5xx, every error a Status', async () => {
    const q = fc.dictionary(
      fc.constantFrom(
        'limit',
        'continue',
        'timeoutSeconds',
        'resourceVersion',
        'resourceVersionMatch',
        'labelSelector',
        'fieldSelector',
        'allowWatchBookmarks',
        'gracePeriodSeconds',
        'dryRun',
        'fieldValidation',
        'propagationPolicy',
      ),
      fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom('1e20', '-1', '2147483648', '9007199254740993', 'NaN', '0x10', '1.5', '%ZZ', ''),
      ),
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(q, fc.boolean(), async (params, watch) => {
        const qs = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
        if (watch) qs.push('watch=true');
        const a = await call(
          'GET',
          `/api/v1/namespaces/default/configmaps?${qs.join('&')}`,
          undefined,
          undefined,
          true,
          watch,
        );
        expectSane(a, `list ?${qs.join('&')}`);
      }),
      { seed: SEED, numRuns: 200 },
    );
  }, 300_000);

  it('upgrade request lines, with and without credentials: answered or closed, never a crash', async () => {
    const path = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '//[',
        'http://[::1',
        '/api/v1/namespaces/default/pods/x/exec?command=%ZZ',
        '/api/v1/namespaces/%ZZ/pods/x/portforward',
        '/agent/v1/connect',
        '*',
        '/api/v1/namespaces/default/pods/x/attach?stdin=%',
        '\u00ff\u00fe',
      ),
      fc
        .tuple(fc.constantFrom('exec', 'attach', 'portforward', 'log'), fc.string({ maxLength: 30 }))
        .map(([v, q]) => `/api/v1/namespaces/default/pods/p/${v}?${q}`),
    );
    const upgrade = fc.constantFrom('websocket', 'SPDY/3.1', 'h2c', '');
    const proto = fc.constantFrom(
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
      'portforward.k8s.io',
      'SPDY/3.1+portforward.k8s.io',
      'x',
    );
    await fc.assert(
      fc.asyncProperty(
        path,
        upgrade,
        proto,
        fc.constantFrom('none', 'admin', 'join', 'bad'),
        async (p, up, pr, who) => {
          const auth =
            who === 'admin'
              ? `Authorization: Bearer ${token}\r\n`
              : who === 'join'
                ? `Authorization: Bearer ${joinToken}\r\n`
                : who === 'bad'
                  ? 'Authorization: Bearer nope\r\n'
                  : '';
          const head = `GET ${p.replace(/[\r\n ]/g, '')} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${up}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ${pr}\r\n${auth}\r\n`;
          const answer = await new Promise<string>((resolve) => {
            const sock = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () =>
              sock.write(Buffer.from(head, 'latin1')),
            );
            let got = '';
            const done = () => {
              clearTimeout(t);
              sock.destroy();
              resolve(got);
            };
            const t = setTimeout(done, 3000);
            sock.on('data', (d: Buffer) => {
              got += d.toString('latin1');
              if (got.includes('\r\n\r\n')) done();
            });
            sock.on('error', done);
            sock.on('close', done);
          });
          if (answer) {
            const code = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
            expect(code, `${p} → ${answer.slice(0, 200)}`).toBeLessThan(500);
          }
        },
      ),
      { seed: SEED, numRuns: 250 },
    );
    expectSane(await call('GET', '/healthz'), 'healthz');
  }, 300_000);

  it('agent messages: the gateway answers or closes, the server survives, memory stays bounded', async () => {
    const types = fc.constantFrom(
      'register',
      'heartbeat',
      'podStatus',
      'podTerminated',
      'event',
      'streamData',
      'streamEnd',
      'stats',
      'getObject',
      'error',
      'nope',
    );
    const message = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .record(
            {
              type: types,
              node: value,
              pod: value,
              status: value,
              id: value,
              conditions: value,
              kind: value,
              name: value,
              namespace: value,
            },
            { requiredKeys: ['type'] },
          )
          .map((m) => JSON.stringify(m)),
      },
      { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          deep(20_000, '[', ']'),
          JSON.stringify({ type: 'register', protocol: 1, node: { name: 'fuzz-node' } }),
        ),
      },
    );
    let ws: WebSocket | undefined;
    let opened = 0;
    let answers = 0;
    const open = () =>
      new Promise<WebSocket>((resolve) => {
        const w = new WebSocket(`wss://127.0.0.1:${port}/agent/v1/connect`, {
          headers: { Authorization: `Bearer ${joinToken}` },
          ca,
          rejectUnauthorized: false,
        });
        w.on('message', () => {
          answers++;
        });
        w.on('error', () => undefined);
        w.once('open', () => {
          opened++;
          resolve(w);
        });
        w.once('close', () => resolve(w));
      });
    const heapBefore = process.memoryUsage().heapUsed;
    // a real register first, so that most messages reach a registered session
    let n = 0;
    const register = () =>
      JSON.stringify({
        type: 'register',
        protocol: 1,
        credential: 'c'.repeat(32) + String(n),
        node: {
          name: `fuzz-${n++}`,
          capacity: { cpu: '2', memory: '4Gi', pods: '110' },
          allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
          nodeInfo: {},
          addresses: [{ type: 'InternalIP', address: '10.0.0.9' }],
          conditions: [],
        },
      });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 20 }), async (msgs) => {
        if (!ws || ws.readyState !== WebSocket.OPEN) {
          ws = await open();
          if (ws.readyState === WebSocket.OPEN) ws.send(register());
        }
        for (const m of msgs) if (ws.readyState === WebSocket.OPEN) ws.send(m);
      }),
      { seed: SEED, numRuns: 300 },
    );
    // the gateway really took these connections, and answers: a register for a new node
    // is taken (registered), after which a malformed message gets an error back
    expect(opened, 'agent connections opened').toBeGreaterThan(0);
    const w = await open();
    const before = answers;
    w.send(JSON.stringify({ type: 'register', protocol: 1, node: { name: 'fuzz-answer' } }));
    w.send('{"type":"heartbeat","conditions":"nope"}');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no answer from the gateway (${answers - before} messages)`)),
        10_000,
      );
      const check = setInterval(() => {
        if (answers > before || w.readyState === WebSocket.CLOSED) {
          clearTimeout(t);
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    w.close();
    ws?.close();
    expectSane(await call('GET', '/healthz'), 'healthz');
    expectSane(await call('GET', '/api/v1/namespaces/default/configmaps/fuzz'), 'get after the agent fuzz');
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    expect(grownMb).toBeLessThan(200);
  }, 300_000);
});
