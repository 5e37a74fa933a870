// The audit log through the API server in process (real sockets): the Event of an allowed,
// a denied, an unauthenticated and an impersonated request as kube-apiserver writes them,
// levels and stages from the policy (RequestReceived, ResponseStarted for watches), bodies
// at Request/RequestResponse, Audit-Id; and --anonymous-auth (system:anonymous, RBAC decides,
// a bad token is still 401).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer, httpEdgeOf } from '../../controlplane/api/server.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { createAuditor, type Auditor } from '../../controlplane/audit/auditor.js';
import { RbacAuthorizer, RbacCache } from '../../controlplane/authz/authorizer.js';
import { reconcileBootstrapPolicy } from '../../controlplane/authz/bootstrap-policy.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { ServerMetrics } from '../../controlplane/metrics.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { installUpgradeGuard } from '../../controlplane/agents/upgrade-guard.js';
import { authorizeUpgrade } from '../../controlplane/authz/http.js';
import { auditUpgrades, parseResponseHead } from '../../controlplane/audit/upgrade.js';

const ADMIN = 'admin-token';
const ALICE = 'alice-token';
const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    nonResourceURLs: ["/readyz"]
  - level: RequestResponse
    resources: [{group: "", resources: ["configmaps"]}]
    namespaces: ["rr"]
  - level: Request
    resources: [{group: "", resources: ["configmaps"]}]
  - level: Metadata
    omitStages: [RequestReceived]
`;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
type Ev = Record<string, unknown> & { auditID: string; stage: string };

let dir: string;
let store: SqliteStore;
let storage: ApiStorage;
let cache: RbacCache;
const servers: { app: FastifyInstance; port: number; audit?: Auditor; log?: string; metrics: ServerMetrics }[] = [];

async function start(opts: { anonymous?: boolean; audit?: boolean }) {
  const auth = new TokenAuthenticator();
  auth.add(ADMIN, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
  auth.add(ALICE, { name: 'alice', uid: 'alice-uid', groups: ['dev'] });
  const metrics = new ServerMetrics();
  let audit: Auditor | undefined;
  let log: string | undefined;
  if (opts.audit) {
    log = join(dir, `audit-${servers.length}.log`);
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, POLICY);
    audit = createAuditor({
      auditLogPath: log,
      auditPolicyFile: policyFile,
      auditLogMaxSizeMb: 1,
      auditLogMaxBackup: 2,
    });
    audit!.registerMetrics(metrics.registry);
  }
  const app = await buildApiServer({
    storage,
    auth,
    logger: false,
    authorizer: new RbacAuthorizer(cache),
    audit,
    anonymous: opts.anonymous,
    metrics,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  const s = { app, port: typeof a === 'object' && a ? a.port : 0, audit, log, metrics };
  servers.push(s);
  return s;
}

function call(
  port: number,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Res> {
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const h: Record<string, string> = { 'user-agent': 'audit-test/1.0', ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (data) h['content-type'] = 'application/json';
    const r = request({ host: '127.0.0.1', port, method, path, headers: h, agent: false }, (m) => {
      let b = '';
      m.setEncoding('utf8');
      m.on('data', (d) => {
        b += d;
      });
      m.on('end', () => res({ status: m.statusCode ?? 0, headers: m.headers, body: b }));
    });
    r.on('error', rej);
    if (data) r.write(data);
    r.end();
  });
}

async function eventsOf(s: { log?: string; audit?: Auditor }, id: string, count: number): Promise<Ev[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await s.audit!.writer.flush();
    let text = '';
    try {
      text = readFileSync(s.log!, 'utf8');
    } catch {
      /* not yet */
    }
    const evs = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Ev)
      .filter((e) => e.auditID === id);
    if (evs.length >= count) return evs;
    if (Date.now() > deadline) throw new Error(`want ${count} events for ${id}, have ${JSON.stringify(evs)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-audit-srv-'));
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
  await reconcileBootstrapPolicy(storage);
  cache = new RbacCache(storage);
  await cache.start();
});

afterAll(async () => {
  for (const s of servers) {
    await s.app.close();
    await s.audit?.close();
  }
  cache.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit events', () => {
  it('an allowed list: one ResponseComplete event shaped as kube-apiserver writes it, Audit-Id answered', async () => {
    const s = await start({ audit: true });
    const r = await call(s.port, 'GET', '/api/v1/namespaces/default/pods?limit=500', ADMIN, undefined, {
      'x-forwarded-for': '10.1.2.3',
    });
    expect(r.status).toBe(200);
    const id = r.headers['audit-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const [ev] = await eventsOf(s, id, 1);
    expect(Object.keys(ev!)).toEqual([
      'kind',
      'apiVersion',
      'level',
      'auditID',
      'stage',
      'requestURI',
      'verb',
      'user',
      'sourceIPs',
      'userAgent',
      'objectRef',
      'responseStatus',
      'requestReceivedTimestamp',
      'stageTimestamp',
      'annotations',
    ]);
    expect(ev).toMatchObject({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: id,
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/default/pods?limit=500',
      verb: 'list',
      user: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
      sourceIPs: ['10.1.2.3', '127.0.0.1'],
      userAgent: 'audit-test/1.0',
      objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    });
    expect(ev!.requestReceivedTimestamp).toMatch(MICRO);
    expect(ev!.stageTimestamp).toMatch(MICRO);
    expect(String(ev!.stageTimestamp) >= String(ev!.requestReceivedTimestamp)).toBe(true);
    // a client's own Audit-ID is kept
    const r2 = await call(s.port, 'GET', '/api/v1/namespaces', ADMIN, undefined, { 'audit-id': 'my-id-1' });
    expect(r2.headers['audit-id']).toBe('my-id-1');
    expect((await eventsOf(s, 'my-id-1', 1))[0]!.verb).toBe('list');
  });

  it('a denied request: 403 Status fields and decision forbid, with the user as authenticated', async () => {
    const s = servers[0]!;
    const r = await call(s.port, 'GET', '/api/v1/namespaces/default/secrets/x', ALICE);
    expect(r.status).toBe(403);
    const [ev] = await eventsOf(s, r.headers['audit-id'] as string, 1);
    expect(ev).toMatchObject({
      verb: 'get',
      user: { username: 'alice', uid: 'alice-uid', groups: ['dev', 'system:authenticated'] },
      objectRef: { resource: 'secrets', namespace: 'default', name: 'x', apiVersion: 'v1' },
      responseStatus: {
        metadata: {},
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message:
          'secrets "x" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "default"',
        details: { name: 'x', kind: 'secrets' },
      },
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
    });
  });

  it('a bad token: one ResponseStarted event without a user (WithFailedAuthenticationAudit)', async () => {
    const s = servers[0]!;
    const r = await call(s.port, 'GET', '/api/v1/pods', 'nope');
    expect(r.status).toBe(401);
    const evs = await eventsOf(s, r.headers['audit-id'] as string, 1);
    await new Promise((res) => setTimeout(res, 50));
    expect(await eventsOf(s, r.headers['audit-id'] as string, 1)).toHaveLength(1);
    expect(evs[0]).toMatchObject({
      stage: 'ResponseStarted',
      verb: 'list',
      user: {},
      responseStatus: { metadata: {}, message: 'Authentication failed, attempted: bearer', code: 401 },
    });
    expect(evs[0]!.annotations).toBeUndefined();
    const r2 = await call(s.port, 'GET', '/api/v1/pods', null);
    expect((await eventsOf(s, r2.headers['audit-id'] as string, 1))[0]!.responseStatus).toMatchObject({
      message: 'Authentication failed, no credentials provided',
      code: 401,
    });
  });

  it('impersonation: user is the requester, impersonatedUser who it acts as', async () => {
    const s = servers[0]!;
    const r = await call(s.port, 'GET', '/api/v1/namespaces/default/pods', ADMIN, undefined, {
      'impersonate-user': 'bob',
      'impersonate-group': 'ops',
    });
    expect(r.status).toBe(403);
    const [ev] = await eventsOf(s, r.headers['audit-id'] as string, 1);
    expect(ev).toMatchObject({
      user: { username: 'admin' },
      impersonatedUser: { username: 'bob', groups: ['ops', 'system:authenticated'] },
      annotations: { 'authorization.k8s.io/decision': 'forbid' },
    });
    expect((ev!.responseStatus as { message: string }).message).toContain('User "bob" cannot list resource "pods"');
  });

  it('Request and RequestResponse levels carry the bodies; RequestReceived unless omitted', async () => {
    const s = servers[0]!;
    await call(s.port, 'POST', '/api/v1/namespaces', ADMIN, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'rr' },
    });
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: '1' } };
    const r = await call(s.port, 'POST', '/api/v1/namespaces/default/configmaps', ADMIN, cm);
    expect(r.status).toBe(201);
    const evs = await eventsOf(s, r.headers['audit-id'] as string, 2);
    expect(evs.map((e) => e.stage)).toEqual(['RequestReceived', 'ResponseComplete']);
    expect(evs[0]).toMatchObject({ level: 'Request', verb: 'create' });
    expect(evs[0]!.requestObject).toBeUndefined();
    expect(evs[0]!.responseStatus).toBeUndefined();
    expect(evs[0]!.stageTimestamp).toBe(evs[0]!.requestReceivedTimestamp);
    expect(evs[1]).toMatchObject({ level: 'Request', requestObject: cm, responseStatus: { metadata: {}, code: 201 } });
    expect(evs[1]!.responseObject).toBeUndefined();
    // the name of a create comes from its object (LogRequestObject), at Metadata level too
    expect(evs[1]!.objectRef).toEqual({ resource: 'configmaps', namespace: 'default', name: 'c1', apiVersion: 'v1' });
    const sec = await call(s.port, 'POST', '/api/v1/namespaces/default/secrets', ADMIN, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1' },
      stringData: { k: 'v' },
    });
    const [secEv] = await eventsOf(s, sec.headers['audit-id'] as string, 1);
    expect(secEv).toMatchObject({
      level: 'Metadata',
      objectRef: { resource: 'secrets', namespace: 'default', name: 's1' },
    });
    expect(secEv!.requestObject).toBeUndefined();
    const r2 = await call(s.port, 'POST', '/api/v1/namespaces/rr/configmaps', ADMIN, {
      ...cm,
      metadata: { name: 'c2' },
    });
    const [, done] = await eventsOf(s, r2.headers['audit-id'] as string, 2);
    expect(done).toMatchObject({
      level: 'RequestResponse',
      requestObject: { metadata: { name: 'c2' } },
      responseObject: { kind: 'ConfigMap', metadata: { name: 'c2', namespace: 'rr' }, data: { a: '1' } },
    });
    expect(Object.keys(done!).indexOf('responseObject')).toBe(Object.keys(done!).indexOf('requestObject') + 1);
    // level None: nothing at all
    const r3 = await call(s.port, 'GET', '/readyz', null);
    await call(s.port, 'GET', '/version', null).then((v) => eventsOf(s, v.headers['audit-id'] as string, 1));
    expect(readFileSync(s.log!, 'utf8')).not.toContain(r3.headers['audit-id'] as string);
  });

  it('a watch logs ResponseStarted when its headers go out, then ResponseComplete when it ends', async () => {
    const s = servers[0]!;
    const id = 'watch-1';
    const req = request({
      host: '127.0.0.1',
      port: s.port,
      path: '/api/v1/namespaces/default/pods?watch=true',
      headers: { authorization: `Bearer ${ADMIN}`, 'audit-id': id },
      agent: false,
    });
    try {
      await new Promise<void>((res) => {
        req.on('response', () => res());
        req.end();
      });
      const started = await eventsOf(s, id, 1);
      expect(started[0]).toMatchObject({
        stage: 'ResponseStarted',
        verb: 'watch',
        responseStatus: { metadata: {}, code: 200 },
      });
      expect(started[0]).toMatchObject({ annotations: { 'authorization.k8s.io/decision': 'allow' } });
    } finally {
      req.destroy();
    }
    const evs = await eventsOf(s, id, 2);
    expect(evs.map((e) => e.stage)).toEqual(['ResponseStarted', 'ResponseComplete']);
    expect(evs[1]).toMatchObject({ annotations: { 'authorization.k8s.io/decision': 'allow' } });
  });

  it('counts events and levels in /metrics', async () => {
    const s = servers[0]!;
    const text = await s.metrics.registry.metrics();
    expect(text).toMatch(/^apiserver_audit_event_total \d+$/m);
    expect(Number(/^apiserver_audit_event_total (\d+)$/m.exec(text)![1])).toBeGreaterThan(5);
    expect(text).toMatch(/^apiserver_audit_level_total\{level="None"\} [1-9]/m);
  });
});

describe('audit of upgrades (exec, attach, port-forward)', () => {
  it('parses the status line and Status body a refusal starts with', () => {
    expect(parseResponseHead('HTTP/1.1 101 Switching Protocols\r\n\r\n')).toEqual({ code: 101 });
    expect(
      parseResponseHead('HTTP/1.1 403 Forbidden\r\nA: b\r\n\r\n{"kind":"Status","code":403,"message":"m"}'),
    ).toEqual({ code: 403, status: { kind: 'Status', code: 403, message: 'm' } });
    expect(parseResponseHead('garbage')).toBeUndefined();
  });

  it('an allowed exec: ResponseStarted 101, ResponseComplete when the stream closes; a denied one: 403 and forbid', async () => {
    const s = servers[0]!;
    const auth = new TokenAuthenticator();
    auth.add(ADMIN, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
    auth.add(ALICE, { name: 'alice', uid: 'alice-uid', groups: ['dev'] });
    const authorizer = new RbacAuthorizer(cache);
    const server = createServer();
    installUpgradeGuard(server, {
      auth,
      log: pino({ level: 'silent' }),
      handlers: [
        {
          handleUpgrade: (_req, socket) => {
            socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n');
            setTimeout(() => socket.end(), 50);
            return true;
          },
        },
      ],
      authorize: auditUpgrades(s.audit, (req, user) =>
        authorizeUpgrade(authorizer, req.method ?? 'GET', req.url ?? '', req.headers, user),
      ),
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const upgrade = (token: string, id: string, extra = '') =>
      new Promise<string>((res, rej) => {
        const c = connect(port, '127.0.0.1');
        let out = '';
        c.on('data', (d) => {
          out += d;
        });
        c.on('close', () => res(out));
        c.on('error', rej);
        c.write(
          `GET /api/v1/namespaces/demo/pods/web/exec?command=sh HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAudit-Id: ${id}\r\n${extra}Authorization: Bearer ${token}\r\n\r\n`,
        );
      });
    try {
      expect(await upgrade(ADMIN, 'exec-ok', 'Impersonate-User: carol\r\n')).toMatch(/^HTTP\/1.1 403/);
      expect(await upgrade(ADMIN, 'exec-ok2')).toMatch(/^HTTP\/1.1 101/);
      const ok = await eventsOf(s, 'exec-ok2', 2);
      expect(ok.map((e) => e.stage)).toEqual(['ResponseStarted', 'ResponseComplete']);
      expect(ok[1]).toMatchObject({
        verb: 'get',
        user: { username: 'admin' },
        objectRef: { resource: 'pods', namespace: 'demo', name: 'web', subresource: 'exec', apiVersion: 'v1' },
        responseStatus: { metadata: {}, code: 101 },
        annotations: { 'authorization.k8s.io/decision': 'allow' },
      });
      const imp = await eventsOf(s, 'exec-ok', 2);
      expect(imp[1]).toMatchObject({ responseStatus: { code: 403, reason: 'Forbidden' } });
      expect((imp[1]!.responseStatus as { message: string }).message).toContain(
        'User "carol" cannot create resource "pods/exec"',
      );
      expect(await upgrade(ALICE, 'exec-no')).toMatch(/^HTTP\/1.1 403/);
      const no = await eventsOf(s, 'exec-no', 2);
      expect(no[1]).toMatchObject({
        stage: 'ResponseComplete',
        user: { username: 'alice' },
        responseStatus: { code: 403, reason: 'Forbidden' },
        annotations: { 'authorization.k8s.io/decision': 'forbid' },
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('anonymous requests', () => {
  it('--anonymous-auth: no credentials act as system:anonymous and RBAC decides; a bad token is still 401', async () => {
    const s = await start({ anonymous: true, audit: true });
    expect((await call(s.port, 'GET', '/version', null)).status).toBe(200);
    expect((await call(s.port, 'GET', '/healthz', null)).status).toBe(200);
    const r = await call(s.port, 'GET', '/api/v1/pods', null);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toBe(
      'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope',
    );
    const [ev] = await eventsOf(s, r.headers['audit-id'] as string, 1);
    expect(ev).toMatchObject({
      user: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
      annotations: { 'authorization.k8s.io/decision': 'forbid' },
    });
    // discovery is not granted to system:unauthenticated in modern Kubernetes
    const api = await call(s.port, 'GET', '/api', null);
    expect(api.status).toBe(403);
    expect(JSON.parse(api.body).message).toBe('forbidden: User "system:anonymous" cannot get path "/api"');
    // a token that does not authenticate is refused, not served as anonymous
    expect((await call(s.port, 'GET', '/api/v1/pods', 'bad-token')).status).toBe(401);
    // another scheme than Bearer is no credential (bearertoken.go ignores it)
    expect(
      (await call(s.port, 'GET', '/api/v1/pods', null, undefined, { authorization: 'Basic Zm9vOmJhcg==' })).status,
    ).toBe(403);
    expect((await call(s.port, 'GET', '/api/v1/pods', ADMIN)).status).toBe(200);
  });

  it('anonymous connections stay counted against the per-address cap of unauthenticated connections', async () => {
    const s = servers[servers.length - 1]!;
    const edge = httpEdgeOf(s.app)!;
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = edge.unauthenticatedCount('127.0.0.1');
    await new Promise<void>((res, rej) => {
      request({ host: '127.0.0.1', port: s.port, path: '/version', agent }, (m) => {
        m.resume();
        m.on('end', () => res());
      })
        .on('error', rej)
        .end();
    });
    expect(edge.unauthenticatedCount('127.0.0.1')).toBe(before + 1);
    agent.destroy();
  });

  it('without --anonymous-auth: 401 as before', async () => {
    const s = await start({});
    const r = await call(s.port, 'GET', '/api/v1/pods', null);
    expect(r.status).toBe(401);
    expect(r.headers['audit-id']).toBeTruthy();
    expect((await call(s.port, 'GET', '/version', null)).status).toBe(200);
  });
});
