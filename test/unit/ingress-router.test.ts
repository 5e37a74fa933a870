// The agent's Ingress routing, pure parts: host and path matching (router.ts: exact and
// one-label wildcard hosts, Exact/Prefix/ImplementationSpecific, longest match, default
// backend), backend resolution to ready endpoints (backends.ts) and the SNI map (certs.ts);
// then the proxy itself over real sockets: routing, X-Forwarded headers, 503/404, retry on
// a refused endpoint, a streaming response surviving a table swap, and a WebSocket-style
// upgrade.
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { NetIngress, NetService, NetworkState } from '../../proto/agent-protocol.js';
import { buildTable, normalizeHost, prefixMatches, requestPath, route } from '../../agent/ingress/router.js';
import { indexServices, resolveBackend } from '../../agent/ingress/backends.js';
import { certificateMap, lookupName } from '../../agent/ingress/certs.js';
import { IngressController } from '../../agent/ingress/ingress-controller.js';

const be = (service: string, port: number | string = 80) => ({ service, port });
const ing = (
  name: string,
  rules: NetIngress['rules'],
  extra: Partial<NetIngress> = {},
  namespace = 'default',
): NetIngress => ({ namespace, name, rules, ...extra });
const path = (p: string, pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific', service: string) => ({
  path: p,
  pathType,
  backend: be(service),
});

describe('prefixMatches (element-wise, as the Ingress spec table)', () => {
  it.each([
    ['/', '/anything', true],
    ['/foo', '/foo', true],
    ['/foo', '/foo/', true],
    ['/foo/', '/foo', true],
    ['/foo', '/foo/bar', true],
    ['/foo', '/foobar', false],
    ['/foo/bar', '/foo/barbaz', false],
    ['/aaa/bbb', '/aaa/bbb/ccc', true],
    ['/aaa/bbb/', '/aaa/bbb', true],
    ['/aaa/bbb', '/aaa/bbbxyz', false],
  ])('Prefix %s vs %s → %s', (rule, p, want) => expect(prefixMatches(rule, p)).toBe(want));
});

describe('normalizeHost / requestPath', () => {
  it.each([
    ['Site.Test:8080', 'site.test'],
    ['site.test.', 'site.test'],
    ['[::1]:80', '::1'],
    [undefined, ''],
  ])('%s → %s', (h, want) => expect(normalizeHost(h)).toBe(want));
  it.each([
    ['/a?b=c', '/a'],
    ['/a#x', '/a'],
    ['http://x.test/p?q', '/p'],
    ['http://x.test', '/'],
    ['*', '/'],
  ])('%s → %s', (u, want) => expect(requestPath(u)).toBe(want));
});

describe('route', () => {
  const table = buildTable([
    ing('web', [
      {
        host: 'site.test',
        paths: [path('/', 'Prefix', 'web'), path('/api', 'Prefix', 'api'), path('/api/v1/exact', 'Exact', 'exact')],
      },
      { host: '*.wild.test', paths: [path('/', 'Prefix', 'wild')] },
      { host: 'a.wild.test', paths: [path('/only', 'Exact', 'a-only')] },
      { paths: [path('/any', 'ImplementationSpecific', 'any')] },
    ]),
    ing(
      'other',
      [{ host: 'site.test', paths: [path('/api', 'Exact', 'api-exact')] }],
      { defaultBackend: be('fallback') },
      'zz',
    ),
  ]);
  it.each([
    ['site.test', '/', 'web'],
    ['SITE.test:80', '/index.html', 'web'],
    ['site.test', '/api', 'api-exact'], // Exact beats Prefix on a tie (same length)
    ['site.test', '/api/users', 'api'],
    ['site.test', '/apiary', 'web'],
    ['site.test', '/api/v1/exact', 'exact'],
    ['site.test', '/api/v1/exact/', 'api'],
    ['x.wild.test', '/z', 'wild'],
    ['wild.test', '/z', 'fallback'], // a wildcard needs one more label
    ['a.b.wild.test', '/z', 'fallback'], // and only one
    ['a.wild.test', '/only', 'a-only'],
    ['a.wild.test', '/other', 'wild'], // the exact host has no matching path: the wildcard's rules
    ['nothing.test', '/any/x', 'any'],
    ['nothing.test', '/else', 'fallback'],
  ])('%s%s → %s', (host, url, svc) => expect(route(table, host, url)?.backend.service).toBe(svc));

  it('without a default backend, no match is undefined (404)', () => {
    const t = buildTable([ing('web', [{ host: 'site.test', paths: [path('/', 'Prefix', 'web')] }])]);
    expect(route(t, 'other.test', '/')).toBeUndefined();
    expect(route(t, 'site.test', '/x')?.backend).toEqual({ namespace: 'default', service: 'web', port: 80 });
  });

  it('the earlier Ingress (namespace/name) wins an identical rule', () => {
    const t = buildTable([
      ing('b', [{ host: 'h.test', paths: [path('/', 'Prefix', 'b')] }]),
      ing('a', [{ host: 'h.test', paths: [path('/', 'Prefix', 'a')] }]),
    ]);
    expect(route(t, 'h.test', '/')?.backend.service).toBe('a');
  });
});

const svc = (name: string, ports: NetService['ports'], endpoints: NetService['endpoints']): NetService => ({
  namespace: 'default',
  name,
  type: 'ClusterIP',
  clusterIP: '10.43.0.10',
  ports,
  endpoints,
});

describe('resolveBackend', () => {
  const services = indexServices([
    svc(
      'web',
      [
        { name: 'http', protocol: 'TCP', port: 80 },
        { name: 'admin', protocol: 'TCP', port: 9000 },
      ],
      [
        {
          ip: '10.42.0.5',
          ready: true,
          ports: [
            { name: 'http', port: 8080, protocol: 'TCP' },
            { name: 'admin', port: 9090, protocol: 'TCP' },
          ],
        },
        { ip: '10.42.0.6', ready: false, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
        { ip: '10.42.0.7', ready: true, terminating: true, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      ],
    ),
    svc('empty', [{ name: '', protocol: 'TCP', port: 80 }], []),
  ]);
  it.each([
    [
      { service: 'web', port: 80 },
      { ok: true, targets: [{ ip: '10.42.0.5', port: 8080 }] },
    ],
    [
      { service: 'web', port: 'admin' },
      { ok: true, targets: [{ ip: '10.42.0.5', port: 9090 }] },
    ],
    [
      { service: 'web', port: 81 },
      { ok: false, reason: 'no-port' },
    ],
    [
      { service: 'nope', port: 80 },
      { ok: false, reason: 'no-service' },
    ],
    [
      { service: 'empty', port: 80 },
      { ok: false, reason: 'no-endpoints' },
    ],
  ])('%j', (b, want) => expect(resolveBackend(services, { namespace: 'default', ...b })).toEqual(want));
});

describe('certificateMap / lookupName', () => {
  const certs = [
    { namespace: 'default', name: 's1', cert: 'C1', key: 'K1' },
    { namespace: 'default', name: 's2', cert: 'C2', key: 'K2' },
    { namespace: 'other', name: 's1', cert: 'X', key: 'X' },
  ];
  const m = certificateMap(
    [
      ing('a', [{ host: 'site.test', paths: [] }], {
        tls: [
          { hosts: ['site.test', '*.wild.test'], secretName: 's1' },
          { hosts: [], secretName: 's2' },
          { hosts: ['missing.test'], secretName: 'absent' },
        ],
      }),
    ],
    certs,
  );
  it('maps hosts to their secret; hosts-less entries cover the rules', () => {
    expect(m.get('site.test')).toEqual({ cert: 'C1', key: 'K1' });
    expect(m.get('*.wild.test')).toEqual({ cert: 'C1', key: 'K1' });
    expect(m.has('missing.test')).toBe(false);
  });
  it.each([
    ['site.test', 'site.test'],
    ['SITE.TEST', 'site.test'],
    ['a.wild.test', '*.wild.test'],
    ['a.b.wild.test', undefined],
    ['other.test', undefined],
  ])('%s → %s', (n, want) => expect(lookupName(m, n)).toBe(want));
});

// ---- the proxy over real sockets ----

interface Upstream {
  server: Server;
  port: number;
  hits: number;
}

async function upstream(
  name: string,
  handler?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
): Promise<Upstream> {
  const u: Upstream = {
    server: createServer((req, res) => {
      u.hits++;
      if (handler) {
        handler(req, res);
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ name, url: req.url, headers: req.headers }));
    }),
    port: 0,
    hits: 0,
  };
  u.server.listen(0, '127.0.0.1');
  await once(u.server, 'listening');
  u.port = (u.server.address() as AddressInfo).port;
  return u;
}

async function freePort(): Promise<number> {
  const s = createTcpServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const p = (s.address() as AddressInfo).port;
  s.close();
  return p;
}

function get(port: number, host: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port, path: url, headers: { Host: host, 'X-Forwarded-For': '6.6.6.6' } },
      (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    r.on('error', reject);
    r.end();
  });
}

describe('IngressController over sockets', () => {
  let web: Upstream;
  let api: Upstream;
  let slow: Upstream;
  let ws: import('node:net').Server;
  let wsPort = 0;
  let refused = 0;
  let proxy: IngressController;
  let port = 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-ingress-unit-'));
  let release: () => void = () => {};

  const state = (ingresses: NetIngress[], services: NetService[]): NetworkState => ({
    type: 'network',
    clusterCIDR: '10.42.0.0/16',
    serviceCIDR: '10.43.0.0/16',
    clusterDNS: '10.43.0.10',
    clusterDomain: 'cluster.local',
    nodes: [],
    services,
    ingresses,
  });
  const ep = (p: number, ready = true) => ({
    ip: '127.0.0.1',
    ready,
    ports: [{ name: 'http', port: p, protocol: 'TCP' as const }],
  });
  let services: NetService[] = [];
  const rules = (apiSvc: string): NetIngress[] => [
    ing('site', [
      {
        host: 'site.test',
        paths: [
          path('/', 'Prefix', 'web'),
          path('/api', 'Prefix', apiSvc),
          path('/slow', 'Exact', 'slow'),
          path('/ws', 'Exact', 'ws'),
        ],
      },
    ]),
  ];

  beforeAll(async () => {
    web = await upstream('web');
    api = await upstream('api');
    slow = await upstream('slow', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first\n');
      release = () => res.end('last\n');
    });
    ws = createTcpServer((s) => {
      let head = '';
      s.on('data', (d) => {
        if (!head.includes('\r\n\r\n')) {
          head += d;
          if (head.includes('\r\n\r\n'))
            s.write(
              `HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\nX-Seen-Host: ${/\r\nhost: ([^\r]*)/i.exec(head)?.[1] ?? ''}\r\n\r\n`,
            );
          return;
        }
        s.write(`echo:${d}`);
      });
    }).listen(0, '127.0.0.1');
    await once(ws, 'listening');
    wsPort = (ws.address() as AddressInfo).port;
    refused = await freePort();
    port = await freePort();
    services = [
      svc('web', [{ name: 'http', protocol: 'TCP', port: 80 }], [ep(refused), ep(web.port)]),
      svc('api', [{ name: 'http', protocol: 'TCP', port: 80 }], [ep(api.port)]),
      svc('slow', [{ name: 'http', protocol: 'TCP', port: 80 }], [ep(slow.port)]),
      svc('ws', [{ name: 'http', protocol: 'TCP', port: 80 }], [ep(wsPort)]),
      svc('down', [{ name: 'http', protocol: 'TCP', port: 80 }], [ep(web.port, false)]),
    ];
    proxy = new IngressController({
      httpPort: port,
      httpsPort: 0,
      host: '127.0.0.1',
      dataDir,
      nodeName: 'n1',
      log: pino({ level: 'silent' }),
    });
    await proxy.start();
    proxy.apply(state(rules('api'), services));
    for (let i = 0; i < 100; i++) {
      try {
        await get(port, 'x', '/');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });

  afterAll(async () => {
    await proxy.stop();
    for (const s of [web.server, api.server, slow.server, ws]) s.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('routes by host and path, keeps Host, sets X-Forwarded-*, retries past a refused endpoint', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await get(port, 'site.test', `/page?i=${i}`);
      expect(r.status).toBe(200);
      const j = JSON.parse(r.body);
      expect(j.name).toBe('web');
      expect(j.url).toBe(`/page?i=${i}`);
      expect(j.headers.host).toBe('site.test');
      expect(j.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(j.headers['x-forwarded-proto']).toBe('http');
      expect(j.headers['x-forwarded-host']).toBe('site.test');
      expect(j.headers['x-forwarded-port']).toBe(String(port));
    }
    expect(JSON.parse((await get(port, 'site.test', '/api/x')).body).name).toBe('api');
  });

  it('404 for other hosts, 503 without ready endpoints', async () => {
    expect(await get(port, 'other.test', '/')).toEqual({ status: 404, body: '404 page not found\n' });
    proxy.apply(
      state(
        [
          ing('d', [
            { host: 'down.test', paths: [path('/', 'Prefix', 'down')] },
            { host: 'gone.test', paths: [path('/', 'Prefix', 'missing')] },
          ]),
          ...rules('api'),
        ],
        services,
      ),
    );
    expect((await get(port, 'down.test', '/')).status).toBe(503);
    expect((await get(port, 'gone.test', '/')).status).toBe(503);
  });

  it('a streaming response survives a routing change; new requests see the new table', async () => {
    proxy.apply(state(rules('api'), services));
    const chunks: string[] = [];
    const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path: '/slow', headers: { Host: 'site.test' } }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
          chunks.push(String(d));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on('error', reject);
      r.end();
    });
    for (let i = 0; i < 200 && chunks.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(chunks.join('')).toBe('first\n');
    proxy.apply(state(rules('web'), services)); // /api now goes to web
    expect(JSON.parse((await get(port, 'site.test', '/api/x')).body).name).toBe('web');
    release();
    expect(await done).toEqual({ status: 200, body: 'first\nlast\n' });
  });

  it('passes an upgrade through both ways', async () => {
    proxy.apply(state(rules('api'), services));
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    s.write('GET /ws HTTP/1.1\r\nHost: site.test\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    let got = '';
    s.on('data', (d) => {
      got += d;
    });
    for (let i = 0; i < 200 && !got.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toMatch(/^HTTP\/1.1 101 /);
    expect(got).toContain('X-Seen-Host: site.test');
    s.write('ping');
    for (let i = 0; i < 200 && !got.includes('echo:ping'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toContain('echo:ping');
    s.destroy();
  });
});
