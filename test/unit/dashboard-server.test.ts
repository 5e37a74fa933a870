// The dashboard on the API port (issue 18): its static files are public and only those
// paths are; the WebSocket bearer subprotocol (base64url.bearer.authorization.k8s.io.*)
// authenticates an exec upgrade as kube-apiserver's websocket protocol authenticator does.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenAuthenticator, isPublicPath, websocketProtocolToken } from '../../controlplane/api/auth.js';
import { isDashboardPath, registerDashboardRoutes } from '../../controlplane/api/dashboard.js';
import { httpEdgeOf } from '../../controlplane/api/server.js';
import { AgentGateway } from '../../controlplane/agents/gateway.js';
import { PodStreamRelay } from '../../controlplane/agents/pod-streams.js';
import { installUpgradeGuard } from '../../controlplane/agents/upgrade-guard.js';
import { bodyOf, rawExchange, startEdgeServer, TOKEN, type EdgeServer } from './http-edge-fixtures.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const P = 'base64url.bearer.authorization.k8s.io.';
const ws = (protocols: string) => ({
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-protocol': protocols,
});

describe('websocketProtocolToken', () => {
  it.each([
    [
      'token and channel protocol',
      ws(`v5.channel.k8s.io, ${P}${b64('abc.def')}`),
      { token: 'abc.def', protocols: ['v5.channel.k8s.io'] },
    ],
    ['no token protocol', ws('v5.channel.k8s.io'), undefined],
    ['only the token', ws(`${P}${b64('abc')}`), { error: 'missing additional subprotocol' }],
    [
      'two tokens',
      ws(`v4.channel.k8s.io,${P}${b64('a')},${P}${b64('b')}`),
      { error: 'multiple base64.bearer.authorization tokens specified' },
    ],
    [
      'padded (std base64)',
      ws(`v4.channel.k8s.io,${P}YWJj=`),
      { error: 'invalid base64.bearer.authorization token encoding' },
    ],
    [
      'not UTF-8',
      ws(`v4.channel.k8s.io,${P}${Buffer.from([0xff, 0xfe]).toString('base64url')}`),
      { error: 'invalid base64.bearer.authorization token' },
    ],
    ['not a websocket upgrade', { 'sec-websocket-protocol': `v4.channel.k8s.io,${P}${b64('abc')}` }, undefined],
  ])('%s', (_name, headers, want) => {
    expect(websocketProtocolToken(headers)).toEqual(want);
  });
});

describe('TokenAuthenticator with the subprotocol', () => {
  it('authenticates, removes the token protocol from the request, and knows the request again', () => {
    const auth = new TokenAuthenticator();
    auth.add('secret', { name: 'admin', groups: ['system:masters'] });
    const headers: Record<string, string> = ws(`v5.channel.k8s.io, v4.channel.k8s.io, ${P}${b64('secret')}`);
    expect(auth.authenticate({ headers })?.name).toBe('admin');
    expect(headers['sec-websocket-protocol']).toBe('v5.channel.k8s.io, v4.channel.k8s.io');
    expect(auth.authenticate({ headers })?.name).toBe('admin');
    const wrong: Record<string, string> = ws(`v5.channel.k8s.io, ${P}${b64('nope')}`);
    expect(auth.authenticate({ headers: wrong })).toBeUndefined();
    expect(wrong['sec-websocket-protocol']).toContain(P);
    // a header wins: the subprotocol is not read then
    expect(
      auth.authenticate({
        headers: { ...ws(`v5.channel.k8s.io, ${P}${b64('secret')}`), authorization: 'Bearer nope' },
      }),
    ).toBeUndefined();
  });
});

describe('dashboard paths', () => {
  it.each([
    ['/dashboard', true],
    ['/dashboard/', true],
    ['/dashboard/index-ABCD1234.js', true],
    ['/dashboard/?x=1', true],
    ['/dashboard/../api/v1/pods', false],
    ['/dashboard/a/b', false],
    ['/dashboard/.env', false],
    ['/dashboardx', false],
    ['/api/v1/dashboard', false],
  ])('%s public: %s', (path, pub) => {
    expect(isPublicPath(path)).toBe(pub);
  });

  it('serves the built files, gzip when asked, with the CSP; nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-dash-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>skiff</title>');
    writeFileSync(join(dir, 'main-ABCDEF12.js'), 'console.log(1)');
    writeFileSync(join(dir, 'main-ABCDEF12.js.map'), '{}');
    const app = Fastify();
    registerDashboardRoutes(app, dir);
    const idx = await app.inject({ url: '/dashboard/', headers: { 'accept-encoding': 'gzip' } });
    expect(idx.statusCode).toBe(200);
    expect(idx.headers['content-type']).toContain('text/html');
    expect(idx.headers['content-encoding']).toBe('gzip');
    expect(idx.headers['cache-control']).toBe('no-cache');
    expect(String(idx.headers['content-security-policy'])).toContain("connect-src 'self'");
    expect(gunzipSync(idx.rawPayload).toString()).toContain('<title>skiff</title>');
    const js = await app.inject({ url: '/dashboard/main-ABCDEF12.js' });
    expect(js.body).toBe('console.log(1)');
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/dashboard' })).headers.location).toBe('/dashboard/');
    expect((await app.inject({ url: '/dashboard/main-ABCDEF12.js.map' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/dashboard/nothing.js' })).json()).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
    });
    expect(isDashboardPath('/dashboard/main-ABCDEF12.js')).toBe(true);
    await app.close();
  });
});

describe('the API port: dashboard without a token, the API still not; exec with the bearer subprotocol', () => {
  let s: EdgeServer;
  beforeAll(async () => {
    s = await startEdgeServer();
    const log = pino({ level: 'silent' });
    const gateway = new AgentGateway({ storage: s.storage, joinSecret: 'join-secret', log });
    installUpgradeGuard(s.app.server, {
      auth: s.auth,
      edge: httpEdgeOf(s.app),
      log,
      handlers: [new PodStreamRelay(gateway, s.storage, s.auth, log)],
    });
  });
  afterAll(async () => {
    await s.close();
  });

  const get = async (path: string) =>
    bodyOf((await rawExchange(s, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).text);

  it('GET /dashboard/ needs no token (200 when built, 404 Status when not); /api and a path escaping /dashboard/ are 401', async () => {
    const d = await get('/dashboard/');
    expect([200, 404]).toContain(d.status);
    expect((await get('/api/v1/namespaces/default/pods')).status).toBe(401);
    expect((await get('/dashboard/%2e%2e/api/v1/pods')).status).toBe(401);
    expect((await get('/dashboard/x/y')).status).toBe(401);
  });

  const upgrade = (protocols: string) =>
    `GET /api/v1/namespaces/default/pods/nope/exec?command=sh&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ${protocols}\r\n\r\n`;

  it('a valid token in the subprotocol authenticates (the pod is then looked up: 404); a wrong one is 401', async () => {
    const ok = bodyOf((await rawExchange(s, upgrade(`v5.channel.k8s.io, ${P}${b64(TOKEN)}`))).text);
    expect(ok).toMatchObject({ status: 404, json: { kind: 'Status', reason: 'NotFound' } });
    const bad = bodyOf((await rawExchange(s, upgrade(`v5.channel.k8s.io, ${P}${b64('wrong')}`))).text);
    expect(bad).toMatchObject({ status: 401, json: { kind: 'Status', reason: 'Unauthorized' } });
    const alone = bodyOf((await rawExchange(s, upgrade(`${P}${b64(TOKEN)}`))).text);
    expect(alone.status).toBe(401);
  });
});
